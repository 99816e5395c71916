export interface PageContext {
  /** Captured parts of the path, e.g. the relationship id. */
  params: string[];
  query: URLSearchParams;
  navigate(path: string, replace?: boolean): void;
  href(path: string): string;
  /** Called when the page is left (close subscriptions). */
  onLeave(stop: () => void): void;
}

/** Renders into <main>; the <h1> and a loading line are already there. */
export type Page = (main: HTMLElement, ctx: PageContext) => Promise<void>;
