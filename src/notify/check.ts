/**
 * The checks of a deployments file's notification parts that its schema cannot make: channels
 * named by rules exist, addresses are addresses, secrets come from the environment, time zones
 * exist. Each problem is a diagnostic at its node (file:line:col).
 */
import { IANAZone } from "luxon";
import type { Diagnostic } from "../config/diagnostics.js";
import { closest } from "../config/suggest.js";
import { diagnosticAt, type YamlFile } from "../config/yaml.js";
import type { ChannelDocument, FreshnessRule, NotificationRule } from "./channels-file.js";

export interface NotifyParts {
  channels?: Record<string, ChannelDocument>;
  notifications?: NotificationRule[];
  freshness?: FreshnessRule[];
  deployments: { name: string }[];
}

/** An address `a@b.c`, or `Name <a@b.c>`. */
const ADDRESS = /^(?:[^<>@]*<)?[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>".]+>?$/;
const SECRET_HEADER = /authorization|token|secret|key|password|signature|cookie/i;
const ENV_INSIDE = /\$\{\{\s*env\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}/;

/** Paths whose values are secrets though their keys do not look it: a channel's url and SMTP user. */
export function isChannelSecretPath(path: readonly (string | number)[]): boolean {
  if (path[0] !== "channels") return false;
  return (
    (path.length === 3 && path[2] === "url") ||
    (path.length === 4 && path[2] === "smtp" && (path[3] === "user" || path[3] === "password"))
  );
}

/** The message for a literal channel url or SMTP user, suggesting a variable named after the channel. */
export function channelSecretMessage(path: readonly (string | number)[]): string {
  const channel = String(path[1])
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, "_");
  const key = String(path[path.length - 1]);
  const suggested = `${channel}_${key === "url" ? "URL" : `SMTP_${key.toUpperCase()}`}`;
  return `channel "${String(path[1])}": "${key}" holds a literal secret: it must come from the environment, e.g. \${{ env.${suggested} }}`;
}

export function isAddress(text: string): boolean {
  return ADDRESS.test(text.trim());
}

export function checkNotifyParts(yaml: YamlFile, doc: NotifyParts): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (path: (string | number)[], message: string, severity: "error" | "warning" = "error") =>
    out.push(diagnosticAt(yaml, path, message, { severity }));
  const channels = doc.channels ?? {};
  const names = Object.keys(channels);

  for (const [name, ch] of Object.entries(channels)) {
    if (!ch || typeof ch !== "object") continue;
    if (ch.type === "email") {
      for (const [i, addr] of (ch.to ?? []).entries())
        if (typeof addr === "string" && !isAddress(addr))
          at(["channels", name, "to", i], `"${addr}" is not an email address`);
      if (typeof ch.from === "string" && !isAddress(ch.from))
        at(["channels", name, "from"], `"${ch.from}" is not an email address`);
      const smtp = ch.smtp;
      if (smtp && (smtp.user === undefined) !== (smtp.password === undefined))
        at(["channels", name, "smtp"], "smtp needs both user and password, or neither");
    }
    if (ch.type === "webhook") {
      for (const [header, value] of Object.entries(ch.headers ?? {}))
        if (SECRET_HEADER.test(header) && typeof value === "string" && !ENV_INSIDE.test(value))
          at(
            ["channels", name, "headers", header],
            `header "${header}" holds a literal secret: write it with \${{ env.NAME }}`,
          );
    }
  }

  const knownChannel = (path: (string | number)[], list: readonly string[] | undefined) => {
    for (const [j, to] of (list ?? []).entries()) {
      if (channels[to]) continue;
      const hint = closest(to, names);
      at(
        [...path, j],
        `unknown channel "${to}"${hint ? ` (did you mean "${hint}"?)` : names.length ? ` (channels: ${names.join(", ")})` : ": define it under channels"}`,
      );
    }
  };
  const deployments = doc.deployments.map((d) => d.name).filter(Boolean);
  for (const [i, rule] of (doc.notifications ?? []).entries()) {
    if (!rule || typeof rule !== "object") continue;
    if (rule.on === undefined && rule.on_quality === undefined)
      at(["notifications", i], "a notification rule needs `on` (run states) or `on_quality`");
    knownChannel(["notifications", i, "to"], rule.to);
    for (const [j, d] of (rule.deployments ?? []).entries()) {
      if (deployments.includes(d)) continue;
      const hint = closest(d, deployments);
      at(
        ["notifications", i, "deployments", j],
        `unknown deployment "${d}"${hint ? ` (did you mean "${hint}"?)` : ""}`,
      );
    }
  }
  for (const [i, rule] of (doc.freshness ?? []).entries()) {
    if (!rule || typeof rule !== "object") continue;
    knownChannel(["freshness", i, "to"], rule.to);
    if (rule.timezone !== undefined && !IANAZone.isValidZone(rule.timezone)) {
      const hint = closest(rule.timezone, Intl.supportedValuesOf("timeZone"));
      at(
        ["freshness", i, "timezone"],
        `unknown time zone "${rule.timezone}"${hint ? ` (did you mean "${hint}"?)` : ""}`,
      );
    }
  }
  return out;
}
