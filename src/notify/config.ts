/**
 * The records a deployments file's notification parts register (`notify_channels`,
 * `notify_rules`, `notify_freshness`): rules expanded to one row per (event, deployment, channel).
 */
import type { NotifyRecords } from "../store/notify-config.js";
import type { ChannelDocument, FreshnessRule, NotificationRule } from "./channels-file.js";

export function notifyRecordsOf(doc: {
  channels?: Record<string, ChannelDocument>;
  notifications?: NotificationRule[];
  freshness?: FreshnessRule[];
}): NotifyRecords {
  const rules: NotifyRecords["rules"] = [];
  const seen = new Set<string>();
  for (const rule of doc.notifications ?? []) {
    const events = [...(rule.on ?? []), ...(rule.on_quality ? ["Quality"] : [])];
    for (const event of events)
      for (const deployment of rule.deployments ?? [null])
        for (const channel of rule.to) {
          const key = JSON.stringify([event, deployment, channel]);
          if (seen.has(key)) continue;
          seen.add(key);
          rules.push({ event, deployment, channel });
        }
  }
  return {
    channels: Object.entries(doc.channels ?? {}).map(([name, definition]) => ({
      name,
      type: definition.type,
      definition: definition as unknown as Record<string, unknown>,
    })),
    rules,
    freshness: (doc.freshness ?? []).map((f) => ({ ...f })),
  };
}
