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

/** Roles that see the programme team's pages (the services check every request). */
export const TEAM_ROLES = ["coordinator", "sponsor", "admin"];

/**
 * The roles the signed-in token carries (its `roles` claim), only to choose which
 * pages to offer: the API still decides what may be read. Empty when unreadable.
 */
export function roles(): string[] {
  const token = session()?.token;
  const payload = token?.split(".")[1];
  if (!payload) return [];
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(json) as { roles?: unknown };
    return Array.isArray(claims.roles) ? claims.roles.map(String) : [];
  } catch {
    return [];
  }
}

/**
 * Whether the signed-in person only takes part (a mentee or mentor, not on the
 * programme team): their own page is their home. A token whose roles cannot be read
 * is treated as the team's, whose pages say what they may not see.
 */
export function takesPartOnly(): boolean {
  const held = roles();
  return held.length > 0 && !held.some((r) => TEAM_ROLES.includes(r));
}

/** Whether the signed-in person mentors or is mentored (their own page applies). */
export function takesPart(): boolean {
  return roles().some((r) => r === "mentee" || r === "mentor");
}

/** Whether the signed-in token may manage the organisation's webhooks (an admin or
 * an integration client; the notifications service checks every request). */
export function managesWebhooks(): boolean {
  return roles().some((r) => r === "admin" || r === "integration");
}

/** The page to land on after signing in. */
export function home(): string {
  if (!takesPartOnly()) return "overview";
  if (takesPart()) return "me";
  return managesWebhooks() ? "webhooks" : "notifications";
}
