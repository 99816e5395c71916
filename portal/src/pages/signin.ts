import { ApiError, request } from "../api";
import { demoUsers, home, signIn, signOut, type DemoUser } from "../auth";
import { clear, h, notice, personName, words } from "../dom";
import { MeDocument } from "../generated/graphql";
import type { Page } from "../page";

/** Checks the token with the API before keeping it. */
async function verify(token: string, fallback: string): Promise<string> {
  signIn(token, fallback);
  try {
    const { data } = await request(MeDocument);
    const who = data.me ? personName(data.me) : fallback;
    signIn(token, who);
    return who;
  } catch (err) {
    signOut();
    throw err;
  }
}

export const signInPage: Page = async (main, ctx) => {
  const status = h("div", { "aria-live": "polite" });
  const users = await demoUsers();

  const use = async (token: string, name: string) => {
    clear(status, h("p", { role: "status" }, "Checking…"));
    try {
      await verify(token, name);
      ctx.navigate(home());
    } catch (err) {
      const why = err instanceof ApiError ? err.message : String(err);
      clear(status, notice("error", `That token was refused: ${why}`));
    }
  };

  const demo = users
    ? h(
        "section",
        { "aria-labelledby": "demo-users" },
        h("h2", { id: "demo-users" }, "Demo organisation"),
        h("p", {}, "Pick a demo user to see the dashboard as they would."),
        h(
          "ul",
          { class: "user-list" },
          users.map((u: DemoUser) =>
            h(
              "li",
              {},
              h(
                "button",
                {
                  type: "button",
                  "data-user": u.name,
                  onclick: () => void use(u.token, u.name),
                },
                h("strong", {}, u.name),
                u.title ? h("span", { class: "roles" }, u.title) : null,
                h("span", { class: "roles" }, u.roles.map(words).join(", ")),
              ),
            ),
          ),
        ),
      )
    : h(
        "p",
        { class: "hint" },
        "No demo users here: sign in with a bearer token issued for your organisation.",
      );

  const field = h("textarea", {
    id: "token",
    name: "token",
    rows: 3,
    required: true,
    autocomplete: "off",
    spellcheck: "false",
  });
  const form = h(
    "form",
    {
      "aria-labelledby": "paste-token",
      onsubmit: (event: Event) => {
        event.preventDefault();
        const token = field.value.trim().replace(/^Bearer\s+/i, "");
        if (!token) {
          clear(status, notice("error", "Paste a token first."));
          return;
        }
        void use(token, "token");
      },
    },
    h("h2", { id: "paste-token" }, "Bearer token"),
    h("label", { for: "token" }, "Token (kept in this browser tab only)"),
    field,
    h("button", { type: "submit" }, "Sign in"),
  );

  clear(main, h("h1", {}, "Sign in"), demo, form, status);
};
