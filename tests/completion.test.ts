/**
 * `tickflow completion bash|zsh|fish` and `tickflow man`: every command and option of the program
 * appears in each (they are made from it), and the bash script completes what it should in a real
 * bash (zsh and fish too where installed).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliProgram } from "../src/cli/main.js";
import { REPO, tempDir, tickflowHere } from "./helpers/cli.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(async () => {
  await cleanup();
});

/** Every visible command below the program, as its words (`["runs", "ls"]`), with the command. */
function commands(program: Command): { words: string[]; command: Command }[] {
  const out: { words: string[]; command: Command }[] = [];
  const visit = (command: Command, words: string[]) => {
    for (const sub of program.createHelp().visibleCommands(command)) {
      if (sub.name() === "help") continue;
      out.push({ words: [...words, sub.name()], command: sub });
      visit(sub, [...words, sub.name()]);
    }
  };
  visit(program, []);
  return out;
}

async function output(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await tickflowHere(args, { cwd: dir, env });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

const has = (shell: string) => spawnSync(shell, ["-c", "true"]).status === 0;

describe("completion scripts and the man page", () => {
  const all = commands(cliProgram());

  it("cover every command and its options", async () => {
    expect(all.map((c) => c.words.join(" "))).toEqual(
      expect.arrayContaining(["validate", "runs ls", "deployment run", "query", "completion", "man"]),
    );
    const scripts = {
      bash: await output(["completion", "bash"]),
      zsh: await output(["completion", "zsh"]),
      fish: await output(["completion", "fish"]),
    };
    const man = await output(["man"]);
    for (const { words, command } of all) {
      const path = ["tickflow", ...words].join("/");
      for (const [shell, script] of Object.entries(scripts)) {
        expect({ shell, path, found: script.includes(path) }).toEqual({ shell, path, found: true });
      }
      if (command.commands.length > 0) continue;
      expect(man).toContain(`.SS "tickflow ${words.join(" ")}`);
      for (const option of command.options.filter((o) => !o.hidden && o.long)) {
        const long = option.long!;
        expect(scripts.bash).toMatch(new RegExp(`\\n {4}${path}\\) words="[^"]*${long}\\b`));
        expect(scripts.zsh).toMatch(new RegExp(`\\n {4}\\(${path}\\) items=\\(.*'${long}:`));
        expect(scripts.fish).toMatch(new RegExp(`= ${path}'( -s \\w)? -l ${long.slice(2)}\\b`));
        expect(man).toContain(`\\fB${long.replaceAll("-", "\\-")}\\fR`);
      }
    }
    // The helper verb of the scripts is no command of theirs or the manual's.
    expect(man).not.toContain("deployment-names");
    expect(scripts.bash).not.toContain("tickflow/__deployment-names");
  });

  it.skipIf(spawnSync("man", ["--version"]).status !== 0)(
    "the man page is roff that man renders",
    async () => {
      const file = join(dir, "tickflow.1");
      writeFileSync(file, await output(["man"]));
      const text = execFileSync("man", ["-l", file], { env: { ...process.env, MANWIDTH: "100" } }).toString();
      expect(text).toMatch(/^TICKFLOW\(1\) +User Commands/);
      expect(text).toMatch(/\n {3}tickflow runs ls\n/);
      expect(text).toMatch(/\n {7}TICKFLOW_CONFIG\n/);
      expect(text).toMatch(/\n {7}2 +usage error/);
    },
  );

  it("deployment names come from the deployments file of the settings, and nothing else", async () => {
    const file = join(dir, "deployments.yaml");
    writeFileSync(file, "kind: deployments\ndeployments:\n  - name: alpha\n  - name: beta\n");
    expect(await output(["__deployment-names"], { TICKFLOW_CONFIG: file })).toBe("alpha\nbeta\n");
    expect(await output(["__deployment-names"], { TICKFLOW_CONFIG: join(dir, "none.yaml") })).toBe("");
  });

  /** What `shell` offers after `line` (the script sourced, names from `deployments.yaml`). */
  function offered(shell: "bash" | "zsh" | "fish", script: string, line: string): string[] {
    const file = join(dir, `tickflow.${shell}`);
    writeFileSync(file, script);
    const tickflow = `${process.execPath} ${join(REPO, "bin/tickflow.js")}`;
    const programs = {
      bash: `source ${file}; tickflow() { ${tickflow} "$@"; }
        read -ra COMP_WORDS <<< "$LINE"; [[ "$LINE" == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _tickflow; printf '%s\\n' "\${COMPREPLY[@]}"`,
      // zsh's completion widgets only run in an editor: the builtins are stood in for.
      zsh: `offer() { print -rl -- \${(M)@:#\${words[CURRENT]}*}; }
        compdef() { :; }; compadd() { [[ $1 == -- ]] && shift; [[ $1 == -a ]] && set -- \${(P)2}; offer "$@"; }
        _describe() { offer \${\${(P)2}%%:*}; }; _files() { :; }; _message() { :; }
        tickflow() { ${tickflow} "$@"; }; source ${file}
        words=(\${=LINE}); [[ $LINE == *" " ]] && words+=(""); CURRENT=\${#words}; _tickflow`,
      fish: `function tickflow; ${tickflow} $argv; end; source ${file}; complete -C "$LINE" | string replace -r '\\t.*' ''`,
    };
    const r = spawnSync(shell, shell === "zsh" ? ["-f", "-c", programs.zsh] : ["-c", programs[shell]], {
      cwd: dir,
      env: { ...process.env, LINE: line, TICKFLOW_CONFIG: join(dir, "deployments.yaml") },
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    return r.stdout.split("\n").filter(Boolean).sort();
  }

  for (const shell of ["bash", "zsh", "fish"] as const) {
    it.skipIf(!has(shell))(`${shell} completes commands, options, choices and deployment names`, async () => {
      writeFileSync(join(dir, "deployments.yaml"), "deployments:\n  - name: alpha\n  - name: beta\n");
      const script = await output(["completion", shell]);
      expect(offered(shell, script, "tickflow runs ")).toEqual(["cancel", "logs", "ls", "retry", "show"]);
      expect(offered(shell, script, "tickflow ru")).toEqual(["run", "runs"]);
      expect(offered(shell, script, "tickflow query --format ")).toEqual(["csv", "json", "table"]);
      expect(offered(shell, script, "tickflow deployment run ")).toEqual(["alpha", "beta"]);
      expect(offered(shell, script, "tickflow runs ls --deployment ")).toEqual(["alpha", "beta"]);
      expect(offered(shell, script, "tickflow runs ls --up")).toEqual(["--upcoming"]);
    });
  }
});
