// Typed access to the public GraphQL API: queries and mutations over HTTP, the
// subscriptions over graphql-transport-ws on the same path.
import { createClient, type Client } from "graphql-ws";
import { session } from "./auth";
import type { TypedDocument } from "./generated/graphql";

export interface GraphQLErrorItem {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string };
}

/** The API refused the request (or answered with errors and no data). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface Result<T> {
  data: T;
  /** Errors on parts of the answer; the rest of `data` is still good. */
  errors: GraphQLErrorItem[];
}

function graphqlUrl(): URL {
  return new URL("../graphql", new URL(import.meta.env.BASE_URL, window.location.origin));
}

export async function request<TResult, TVariables>(
  document: TypedDocument<TResult, TVariables>,
  variables?: TVariables,
): Promise<Result<TResult>> {
  const token = session()?.token;
  let resp: Response;
  try {
    resp = await fetch(graphqlUrl(), {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query: document, variables: variables ?? {} }),
    });
  } catch {
    throw new ApiError("The Tandem API cannot be reached.", "Unreachable");
  }
  let body: { data?: TResult | null; errors?: GraphQLErrorItem[]; detail?: string };
  try {
    body = await resp.json();
  } catch {
    throw new ApiError(`The API answered ${resp.status} without JSON.`, "BadResponse", resp.status);
  }
  const errors = body.errors ?? [];
  if (resp.status === 401 || errors.some((e) => e.extensions?.code === "Unauthenticated")) {
    throw new ApiError(
      errors[0]?.message ?? body.detail ?? "Sign in again.",
      "Unauthenticated",
      401,
    );
  }
  if (!body.data) {
    const first = errors[0];
    throw new ApiError(
      first?.message ?? body.detail ?? `The API answered ${resp.status}.`,
      first?.extensions?.code ?? "Error",
      resp.status,
    );
  }
  return { data: body.data, errors };
}

/** Every item of a paginated field, following `endCursor`. */
export async function all<T>(
  page: (after: string | null) => Promise<{ items: T[]; next: string | null }>,
  limit = 5000,
): Promise<T[]> {
  const out: T[] = [];
  let after: string | null = null;
  do {
    const { items, next } = await page(after);
    out.push(...items);
    after = next;
  } while (after && out.length < limit);
  return out;
}

let client: Client | null = null;
let clientToken: string | undefined;

function wsClient(): Client {
  const token = session()?.token;
  if (!client || clientToken !== token) {
    void client?.dispose();
    const url = graphqlUrl();
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    clientToken = token;
    client = createClient({
      url: url.href,
      lazy: true,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    });
  }
  return client;
}

export interface Subscription {
  stop(): void;
}

export function subscribe<TResult, TVariables>(
  document: TypedDocument<TResult, TVariables>,
  variables: TVariables,
  on: { next(data: TResult): void; error?(err: ApiError): void; complete?(): void },
): Subscription {
  const stop = wsClient().subscribe<TResult>(
    { query: document, variables: (variables ?? {}) as Record<string, unknown> },
    {
      next(msg) {
        if (msg.data) on.next(msg.data);
        else if (msg.errors?.length) on.error?.(new ApiError(msg.errors[0]!.message, "Error"));
      },
      error(err) {
        const message = err instanceof Error ? err.message : "the live connection closed";
        on.error?.(new ApiError(message, "Subscription"));
      },
      complete() {
        on.complete?.();
      },
    },
  );
  return { stop };
}

/** Error members of a mutation's result union (they all carry code and message). */
export function mutationError(result: { __typename: string } & Partial<{ code: string; message: string }>): string | null {
  return result.code !== undefined ? `${result.message} (${result.code})` : null;
}
