/** `tickflow notify test CHANNEL`: a test message through a channel of the deployments file, now. */
import { maskerOf } from "../config/masker.js";
import { loadSettings } from "../config/settings.js";
import { closest } from "../config/suggest.js";
import type { ChannelDocument } from "../notify/channels-file.js";
import { resolveChannel } from "../notify/env.js";
import { factsOf } from "../notify/message.js";
import { deliver } from "../notify/sender.js";
import { UsageError } from "./output.js";
import { registrationOf } from "./registration.js";

export async function notifyTestCommand(
  channel: string,
  options: { file?: string; json?: boolean },
): Promise<number> {
  const registration = await registrationOf(options.file ?? loadSettings().TICKFLOW_CONFIG);
  const found = registration.notify.channels.find((c) => c.name === channel);
  if (!found) {
    const names = registration.notify.channels.map((c) => c.name);
    const hint = closest(channel, names);
    throw new UsageError(
      `no channel "${channel}"${hint ? ` (did you mean "${hint}"?)` : names.length ? ` (channels: ${names.join(", ")})` : " in the deployments file"}`,
    );
  }
  const key = `test:${channel}:${Date.now()}`;
  const facts = factsOf(
    "Test",
    { state: "Test", error: null, task: null, deployment: null, logical_date: null },
    process.env,
  );
  // Whatever the channel's secrets are, and the environment's, never printed.
  const masker = maskerOf(process.env);
  let outcome: { ok: boolean; error?: string };
  try {
    const { resolved, masker: secrets } = resolveChannel(
      found.definition as unknown as ChannelDocument,
      process.env,
    );
    const delivery = await deliver(resolved, facts, key, 10_000);
    outcome = delivery.ok ? { ok: true } : { ok: false, error: secrets.mask(delivery.error) };
  } catch (err) {
    outcome = { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  const error = outcome.error === undefined ? undefined : masker.mask(outcome.error);
  if (options.json)
    process.stdout.write(
      `${JSON.stringify({ channel, type: found.type, sent: outcome.ok, ...(error ? { error } : {}) })}\n`,
    );
  else if (outcome.ok) process.stdout.write(`sent a test message to ${channel} (${found.type})\n`);
  else process.stderr.write(`tickflow: ${channel} (${found.type}): not sent: ${error}\n`);
  return outcome.ok ? 0 : 1;
}
