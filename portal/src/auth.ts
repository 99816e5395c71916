// The bearer token lives in sessionStorage: it goes with the tab, not the machine.

const KEY = "tandem.token";
const WHO = "tandem.who";

export interface Session {
  token: string;
  who: string;
}

export function session(): Session | null {
  const token = sessionStorage.getItem(KEY);
  return token ? { token, who: sessionStorage.getItem(WHO) ?? "token" } : null;
}

export function signIn(token: string, who: string): void {
  sessionStorage.setItem(KEY, token.trim());
  sessionStorage.setItem(WHO, who);
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(WHO);
}

export interface DemoUser {
  name: string;
  personId: string | null;
  roles: string[];
  token: string;
  title?: string;
}

/** The demo organisation's users, when the platform was seeded (else null). */
export async function demoUsers(): Promise<DemoUser[] | null> {
  try {
    const resp = await fetch(new URL("../dev/tokens", apiBase()), {
      headers: { accept: "application/json" },
    });
    if (!resp.ok) return null;
    const body = (await resp.json()) as { users?: DemoUser[] };
    return Array.isArray(body.users) ? body.users : null;
  } catch {
    return null;
  }
}

/** Where the API is: the dashboard lives at <api>/dashboard/. */
export function apiBase(): string {
  return new URL(import.meta.env.BASE_URL, window.location.origin).href;
}
