// Admins and integration clients: the organisation's webhook endpoints, each with
// its delivery log (every signed message, its status, and every attempt's answer),
// a chart of the deliveries by status, and what can be done: replay a message (the
// same webhook-id), enable an endpoint that was disabled after sustained failure.
import { mutationError, request } from "../api";
import { bars, chart } from "../charts";
import { clear, code, count, h, localId, notice, table, value, words } from "../dom";
import {
  EnableWebhookEndpointDocument,
  ReplayWebhookDeliveryDocument,
  WebhookDeliveriesDocument,
  WebhookEndpointsDocument,
  type WebhookDeliveriesQuery,
  type WebhookEndpointsQuery,
} from "../generated/graphql";
import type { Page } from "../page";

type Endpoint = WebhookEndpointsQuery["webhookEndpoints"][number];
type Delivery = WebhookDeliveriesQuery["webhookDeliveries"][number];

const LOG = 50; // the latest messages shown per endpoint
const STATUSES = [
  ["SENT", "Delivered"],
  ["PENDING", "Pending"],
  ["DEAD", "Dead"],
] as const;

const when = (iso: string | null | undefined): string => {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 19)} UTC`;
};

/** A moment in a table cell: the time (UTC), the whole moment on hover. */
const moment = (iso: string | null | undefined): HTMLElement | string =>
  iso ? h("time", { datetime: iso, title: when(iso) }, `${iso.slice(5, 10)} ${when(iso).slice(11, 19)}`) : "—";

/** The event type as integrators see it (`PAIRING_PROPOSED` -> `pairing.proposed`). */
const eventName = (t: string | null): string => {
  if (!t) return "(a type this dashboard does not know)";
  const lower = t.toLowerCase();
  return lower.startsWith("relationship_") ? `relationship.${lower.slice(13)}` : lower.replace("_", ".");
};

function attempts(d: Delivery): HTMLElement {
  if (!d.log.length) return h("span", { class: "hint" }, "not tried yet");
  return h(
    "ol",
    { class: "attempts" },
    d.log.map((a) =>
      h(
        "li",
        { "data-status-code": a.statusCode === null ? "" : String(a.statusCode) },
        h("time", { datetime: a.at, title: when(a.at) }, when(a.at).slice(11, 19)),
        " ",
        h("strong", {}, a.statusCode === null ? "no answer" : String(a.statusCode)),
        a.error && a.statusCode === null ? ` ${a.error}` : "",
        `, ${count(a.durationMs)} ms`,
      ),
    ),
  );
}

function statusChart(key: string, deliveries: Delivery[]): HTMLElement {
  const by = STATUSES.map(([s]) => deliveries.filter((d) => d.status === s).length);
  const retried = deliveries.filter((d) => d.log.length > 1).length;
  return chart({
    key,
    title: "Deliveries by status",
    summary:
      `${count(deliveries.length)} latest messages: ${STATUSES.map(([, label], i) => `${count(by[i])} ${label.toLowerCase()}`).join(", ")}; ` +
      `${count(retried)} needed more than one attempt.`,
    option: bars(
      STATUSES.map(([, label]) => label),
      [{ name: "Messages", values: by }],
      { horizontal: true, decimals: 0 },
    ),
    data: table(
      "Deliveries by status",
      ["Status", "Messages"],
      [...STATUSES.map(([, label], i) => [label, value(by[i], count(by[i]))]), ["Retried", value(retried, count(retried))]],
    ),
    height: 160,
  });
}

async function endpointSection(e: Endpoint, n: number): Promise<HTMLElement> {
  const section = h("section", { class: "endpoint", "data-endpoint": e.id, "aria-labelledby": `endpoint-${n}` });
  const status = h("div", { "aria-live": "polite" });

  async function render(): Promise<void> {
    const { data } = await request(WebhookDeliveriesDocument, { endpoint: e.id, first: LOG });
    const deliveries = data.webhookDeliveries;
    const rows = deliveries.map((d) => {
      const replay = h("button", { type: "button", class: "secondary" }, "Replay");
      replay.addEventListener("click", async () => {
        replay.setAttribute("disabled", "");
        const { data: r } = await request(ReplayWebhookDeliveryDocument, { deliveryId: d.id });
        const error = mutationError(r.replayWebhookDelivery);
        clear(status, notice(error ? "error" : "info", error ?? `Message ${d.id} queued again (the same webhook-id).`));
        await render();
      });
      return h(
        "tr",
        { "data-delivery": d.id, "data-status": code(d.status), "data-attempts": String(d.attempts) },
        h("th", { scope: "row" }, h("code", {}, localId(d.id))),
        h("td", {}, eventName(d.eventType)),
        h("td", {}, h("span", { class: `badge delivery-${code(d.status)}` }, words(d.status))),
        h("td", {}, value(d.attempts, count(d.attempts))),
        h("td", { class: "moment" }, moment(d.createdAt)),
        h("td", { class: "moment" }, d.status === "PENDING" ? ["next ", moment(d.nextAttemptAt)] : moment(d.sentAt)),
        h("td", {}, attempts(d)),
        h("td", { class: "actions" }, replay),
      );
    });
    clear(
      log,
      statusChart(`webhook-deliveries-${n + 1}`, deliveries),
      h(
        "table",
        { "data-table": "deliveries" },
        h("caption", {}, `The latest ${count(LOG)} messages, newest first (times in UTC)`),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Message (webhook-id)", "Event", "Status", "Attempts", "Queued", "Delivered", "Every attempt", ""].map((c) =>
              h("th", { scope: "col" }, c),
            ),
          ),
        ),
        h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: "8" }, "No message yet."))),
      ),
    );
  }

  const log = h("div", { class: "delivery-log" });
  const refresh = h("button", { type: "button", class: "secondary" }, "Refresh");
  refresh.addEventListener("click", () => void render());
  const enable = h("button", { type: "button" }, "Enable again");
  enable.addEventListener("click", async () => {
    enable.setAttribute("disabled", "");
    const { data } = await request(EnableWebhookEndpointDocument, { endpointId: e.id });
    const error = mutationError(data.enableWebhookEndpoint);
    clear(status, notice(error ? "error" : "info", error ?? "Enabled: its messages go out again."));
  });
  clear(
    section,
    h("h2", { id: `endpoint-${n}` }, e.description || e.url),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "URL"),
      h("dd", {}, h("code", { "data-url": e.url }, e.url)),
      h("dt", {}, "Events"),
      h("dd", {}, e.eventTypes.length ? e.eventTypes.map(eventName).join(", ") : "every type"),
      h("dt", {}, "State"),
      h(
        "dd",
        { "data-enabled": String(e.enabled) },
        e.enabled ? "delivering" : `disabled${e.disabledReason ? `: ${e.disabledReason}` : ""}`,
        e.failingSince ? ` (failing since ${when(e.failingSince)})` : "",
      ),
      h("dt", {}, "Registered"),
      h("dd", {}, when(e.createdAt)),
    ),
    h("div", { class: "toolbar" }, refresh, e.enabled ? null : enable),
    status,
    log,
  );
  await render();
  return section;
}

export const webhooksPage: Page = async (main) => {
  const { data } = await request(WebhookEndpointsDocument);
  const endpoints = data.webhookEndpoints;
  const sections = await Promise.all(endpoints.map((e, n) => endpointSection(e, n)));
  clear(
    main,
    h("h1", {}, "Webhooks"),
    h(
      "p",
      { class: "hint" },
      "Signed per Standard Webhooks: each message carries webhook-id (the same on every retry), " +
        "webhook-timestamp and webhook-signature. A failed message is retried with backoff, then kept as dead.",
    ),
    endpoints.length ? sections : notice("info", "No webhook endpoint is registered for the organisation."),
  );
};
