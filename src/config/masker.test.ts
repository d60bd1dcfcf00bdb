import { describe, expect, it } from "vitest";
import { isSecretVariable, Masker, maskedEnv, maskerOf } from "./masker.js";

describe("secret variables", () => {
  it("are named *_KEY, *_TOKEN, *_SECRET, *_PASSWORD, or listed in TICKFLOW_SECRET_VARS", () => {
    for (const name of ["POLYGON_API_KEY", "TICKFLOW_API_TOKEN", "AWS_SECRET", "SMTP_PASSWORD", "gh_token"])
      expect(isSecretVariable(name), name).toBe(true);
    for (const name of ["HOME", "KEYBOARD", "MONKEY", "TOKENS", "TICKFLOW_SECRET_VARS"])
      expect(isSecretVariable(name), name).toBe(false);
    expect(isSecretVariable("SLACK_WEBHOOK_URL", new Set(["SLACK_WEBHOOK_URL"]))).toBe(true);
  });

  it("mask the values of an environment, listed ones too", () => {
    const masker = maskerOf({
      POLYGON_API_KEY: "pk-123456",
      SLACK_WEBHOOK_URL: "https://hooks.example/T0/B0",
      TICKFLOW_SECRET_VARS: " SLACK_WEBHOOK_URL , OTHER",
      HOME: "/home/me",
    });
    expect(masker.mask("key pk-123456 hook https://hooks.example/T0/B0 home /home/me")).toBe(
      "key *** hook *** home /home/me",
    );
    expect(maskedEnv({ X_TOKEN: "ab", HOME: "/h" })).toEqual({ X_TOKEN: "***", HOME: "/h" });
  });
});

describe("Masker", () => {
  it("does nothing without secrets, and returns the same text or value", () => {
    const masker = maskerOf({ HOME: "/home/me" });
    expect(masker.active).toBe(false);
    const value = { a: ["x"] };
    expect(masker.maskValue(value)).toBe(value);
  });

  it("replaces longer secrets first, so a secret inside another leaves no tail", () => {
    const masker = new Masker(["abcd", "abcd-efgh"]);
    expect(masker.mask("abcd-efgh and abcd")).toBe("*** and ***");
  });

  it("ignores values under 4 characters, and masks trimmed, URL-encoded and JSON-escaped forms", () => {
    const masker = new Masker(["abc", 's3cr/t+"x\n', 42]);
    expect(masker.mask("abc")).toBe("abc");
    expect(masker.mask(`plain s3cr/t+"x url s3cr%2Ft%2B%22x json "s3cr/t+\\"x"`)).toBe(
      'plain *** url *** json "***"',
    );
  });

  it("treats regex characters literally", () => {
    expect(new Masker(["a.b*c"]).mask("a.b*c axbbc")).toBe("*** axbbc");
  });

  it("masks strings, keys included, deep in arrays and plain objects, copying only what changed", () => {
    const masker = new Masker(["hunter22"]);
    const date = new Date(0);
    const same = { n: 1 };
    const out = masker.maskValue({
      first: { v: "is hunter22", hunter22: 1 },
      list: ["hunter22", 2],
      date,
      same,
    });
    expect(out).toEqual({ first: { v: "is ***", "***": 1 }, list: ["***", 2], date, same });
    expect(out.same).toBe(same);
    expect(out.date).toBe(date);
  });

  it("masks values added later (a step's secret parameter)", () => {
    const masker = new Masker();
    masker.add([undefined, "key-from-param"]);
    expect(masker.mask("GET ?k=key-from-param")).toBe("GET ?k=***");
  });
});
