// Small DOM helpers: elements are built, never parsed from strings, so nothing from
// the API is ever interpreted as markup.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(key.replace(/^on/, "").toLowerCase(), value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

export function clear(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

const integer = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat("en-GB", { style: "percent", maximumFractionDigits: 1 });

/** A count, or an em dash when there is none. */
export const count = (n: number | null | undefined): string =>
  n === null || n === undefined ? "—" : integer.format(n);

/** A measure with up to two decimals, or an em dash. */
export const num = (n: number | null | undefined): string =>
  n === null || n === undefined ? "—" : decimal.format(n);

/** A ratio in [0, 1] as a percentage, or an em dash. */
export const pct = (n: number | null | undefined): string =>
  n === null || n === undefined ? "—" : percent.format(n);

export interface Named {
  givenName: string | null;
  familyName: string | null;
  erased: boolean;
}

export function personName(p: Named | null | undefined): string {
  if (!p) return "(unknown)";
  if (p.erased) return "(erased)";
  return [p.givenName, p.familyName].filter(Boolean).join(" ") || "(no name)";
}

/** A mentor as the API names them: a person, or an external advisor. */
export type MentorNamed =
  | ({ __typename: "Person" } & Named)
  | { __typename: "Advisor"; name: string | null; erased: boolean };

/** A mentor's name: a person's, or an external advisor's (marked as such). */
export function mentorName(m: MentorNamed | null | undefined): string {
  if (!m || m.__typename === "Person") return personName(m);
  if (m.erased) return "(erased)";
  return `${m.name || "(no name)"} (external advisor)`;
}

/** Plain words for a machine code such as `cadence_missed` or an enum value (`AT_RISK`). */
export const words = (code: string): string => code.replace(/[_.]+/g, " ").toLowerCase();

/** The lower-case code of a GraphQL enum value (`AT_RISK` -> `at_risk`), for CSS
 * classes and `data-` attributes. */
export const code = (value: string): string => value.toLowerCase();

/** The service's own id inside a Relay global id (`base64("Type:local")`). */
export function localId(globalId: string): string {
  try {
    const decoded = atob(globalId);
    const at = decoded.indexOf(":");
    return at >= 0 ? decoded.slice(at + 1) : globalId;
  } catch {
    return globalId;
  }
}

/** Whether `value` is a global id of `type`. */
export function isGlobalId(value: string, type: string): boolean {
  try {
    return atob(value).startsWith(`${type}:`);
  } catch {
    return false;
  }
}

/** The Relay global id of a service id. */
export const globalId = (type: string, local: string): string => btoa(`${type}:${local}`);

/** A table with a caption; `cells` may be nodes (e.g. a "suppressed" badge). */
export function table(
  caption: string,
  head: string[],
  rows: (Child | Child[])[][],
  attrs: Attrs = {},
): HTMLTableElement {
  return h(
    "table",
    attrs,
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h(
          "tr",
          {},
          r.map((c, i) => (i === 0 ? h("th", { scope: "row" }, c) : h("td", {}, c))),
        ),
      ),
    ),
  );
}

/** A number cell keeping its raw value for machines (`data-value`) next to its text. */
export function value(raw: number | null | undefined, text: string): HTMLElement {
  return h("span", { "data-value": raw === null || raw === undefined ? "" : String(raw) }, text);
}

export function suppressedBadge(): HTMLElement {
  return h("span", { class: "badge suppressed", "data-suppressed": "true" }, "suppressed");
}

export function notice(kind: "error" | "info", text: string): HTMLElement {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}
