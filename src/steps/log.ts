import { z } from "zod";
import { defineStep } from "../pipeline/step-spec.js";

export const log = defineStep({
  name: "log",
  summary: "Write a message to the run log (for notifications and tests).",
  params: z.strictObject({
    message: z
      .string()
      .describe("The message; expressions such as ${{ run.date }} are rendered into it before it is logged."),
    level: z
      .enum(["debug", "info", "warn", "error"])
      .default("info")
      .describe("Log level: debug, info, warn or error. Default: info."),
  }),
  outputs: {
    message: { type: "string", description: "The message as logged." },
  },
  async run(ctx, params) {
    ctx.log(params.level, params.message);
    return { message: params.message };
  },
});
