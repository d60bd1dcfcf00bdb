/**
 * `tickflow completion bash|zsh|fish` and `tickflow man`: made from the commander program itself
 * (its visible commands, options and arguments, as `--help` shows them), so neither can drift from
 * the verbs. Deployment names are completed at the time of the TAB by a hidden verb that reads the
 * deployments file of the folder the user is in.
 */
import { readFile } from "node:fs/promises";
import type { Argument, Command, Help, Option } from "commander";
import { VERSION } from "../version.js";

/** The description of every argument that is a deployment's name: those complete to the names. */
export const DEPLOYMENT_NAME = "deployment name";
/** The hidden verb the scripts call for the names (one a line). */
export const DEPLOYMENT_NAMES_COMMAND = "__deployment-names";

/** One command of the tree, by its path from the program (`tickflow/runs/ls`). */
interface Node {
  path: string;
  words: string[];
  command: Command;
  commands: Command[];
  options: Option[];
  arguments: readonly Argument[];
}

/** Every visible command, the program first, each before its subcommands. */
function walk(program: Command): Node[] {
  const help = program.createHelp();
  const nodes: Node[] = [];
  const visit = (command: Command, words: string[]) => {
    const commands = help.visibleCommands(command).filter((c) => c.name() !== "help");
    nodes.push({
      path: ["tickflow", ...words].join("/"),
      words,
      command,
      commands,
      options: help.visibleOptions(command),
      arguments: help.visibleArguments(command),
    });
    for (const sub of commands) visit(sub, [...words, sub.name()]);
  };
  visit(program, []);
  return nodes;
}

/** What an option's value or an argument completes to. */
type Values =
  | { kind: "none" }
  | { kind: "words"; words: string[] }
  | { kind: "files" }
  | { kind: "deployments" };

/** Values named like paths complete to files; a closed list of choices to those. */
const PATHY = /^(file|path|dir|folder)s?$/;

function optionValues(option: Option): Values {
  if (option.argChoices) return { kind: "words", words: option.argChoices };
  if (option.long === "--deployment") return { kind: "deployments" };
  const value = /[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1]?.replace("...", "");
  return value !== undefined && PATHY.test(value) ? { kind: "files" } : { kind: "none" };
}

function argumentValues(argument: Argument): Values {
  if (argument.argChoices) return { kind: "words", words: argument.argChoices };
  if (argument.description === DEPLOYMENT_NAME) return { kind: "deployments" };
  return PATHY.test(argument.name()) ? { kind: "files" } : { kind: "none" };
}

/** Whether an option takes a value (`--limit <n>`), so the word after it is not a command. */
function takesValue(option: Option): boolean {
  return option.required || option.optional;
}

function optionNames(option: Option): string[] {
  return [option.short, option.long].filter((n): n is string => n !== undefined);
}

/** A shell completion script for `tickflow`. */
export function completionScript(program: Command, shell: "bash" | "zsh" | "fish"): string {
  const nodes = walk(program);
  if (shell === "bash") return bashScript(nodes);
  if (shell === "zsh") return zshScript(nodes, program.createHelp());
  return fishScript(nodes, program.createHelp());
}

/** The `case` pattern of every path below the program, for finding where the cursor is. */
function pathPattern(nodes: Node[]): string {
  return nodes
    .slice(1)
    .map((n) => n.path)
    .join("|");
}

/** The first argument of a command (what its first positional word completes to). */
function firstArgument(node: Node): Values {
  const first = node.arguments[0];
  return first === undefined ? { kind: "none" } : argumentValues(first);
}

/** The words an option's value completes to, for each option of `node` that takes one. */
function valueCases(node: Node, action: (values: Values, pattern: string) => string): string[] {
  return node.options.filter(takesValue).map((option) =>
    action(
      optionValues(option),
      optionNames(option)
        .map((n) => `${node.path}:${n}`)
        .join("|"),
    ),
  );
}

const NAMES = `tickflow ${DEPLOYMENT_NAMES_COMMAND} 2>/dev/null`;

/** bash: the COMPREPLY for `values`; undefined leaves it to the shell's default (file names). */
function bashAction(values: Values): string | undefined {
  const words = (list: string) => `COMPREPLY=($(compgen -W "${list}" -- "$cur"))`;
  if (values.kind === "words") return words(values.words.join(" "));
  return values.kind === "deployments" ? words(`$(${NAMES})`) : undefined;
}

function bashScript(nodes: Node[]): string {
  const values = nodes.flatMap((n) =>
    valueCases(n, (v, pattern) => {
      const action = bashAction(v);
      return `    ${pattern}) ${action ? `${action}; ` : ""}return ;;`;
    }),
  );
  const options = nodes.map((n) => `    ${n.path}) words="${n.options.flatMap(optionNames).join(" ")}" ;;`);
  const words = nodes.flatMap((n) => {
    const action =
      n.commands.length > 0
        ? bashAction({ kind: "words", words: n.commands.map((c) => c.name()) })
        : bashAction(firstArgument(n));
    return action === undefined ? [] : [`    ${n.path}) ${action} ;;`];
  });
  return `# bash completion for tickflow ${VERSION}, made by \`tickflow completion bash\`.
# Install: tickflow completion bash > /etc/bash_completion.d/tickflow (or: source <(tickflow completion bash))
_tickflow() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local at=tickflow words="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "$at/\${COMP_WORDS[i]}" in
      ${pathPattern(nodes)}) at="$at/\${COMP_WORDS[i]}" ;;
    esac
  done
  # The value of an option: its choices, else file names (or nothing) by the shell's default.
  case "$at:$prev" in
${values.join("\n")}
  esac
  if [[ "$cur" == -* ]]; then
    case "$at" in
${options.join("\n")}
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
    return
  fi
  case "$at" in
${words.join("\n")}
  esac
}
complete -o default -F _tickflow tickflow
`;
}

/** Text inside single quotes for zsh and fish (which both take '\\'' for a quote). */
function quoted(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** zsh: the completion of `values`; undefined for none. (No variable may be named `path`: zsh ties it to PATH.) */
function zshAction(values: Values): string | undefined {
  if (values.kind === "words") return `compadd -- ${values.words.map(quoted).join(" ")}`;
  if (values.kind === "deployments") return `items=(\${(f)"$(${NAMES})"}); compadd -a items`;
  return values.kind === "files" ? "_files" : undefined;
}

function zshScript(nodes: Node[], help: Help): string {
  const entry = (name: string, description: string) =>
    quoted(`${name.replaceAll(":", "\\:")}:${description}`);
  const values = nodes.flatMap((n) =>
    valueCases(n, (v, pattern) => `    (${pattern}) ${zshAction(v) ?? "_message value"}; return ;;`),
  );
  const options = nodes.map(
    (n) =>
      `    (${n.path}) items=(${n.options
        .flatMap((o) => optionNames(o).map((name) => entry(name, o.description)))
        .join(" ")}) ;;`,
  );
  const words = nodes.flatMap((n) => {
    if (n.commands.length > 0) {
      const items = n.commands.map((c) => entry(c.name(), help.subcommandDescription(c))).join(" ");
      return [`    (${n.path}) items=(${items}); _describe command items ;;`];
    }
    const action = zshAction(firstArgument(n));
    return action === undefined ? [] : [`    (${n.path}) ${action} ;;`];
  });
  return `#compdef tickflow
# zsh completion for tickflow ${VERSION}, made by \`tickflow completion zsh\`.
# Install: tickflow completion zsh > "\${fpath[1]}/_tickflow" (or: source <(tickflow completion zsh))
_tickflow() {
  local cur=\${words[CURRENT]} prev=\${words[CURRENT-1]} at=tickflow i
  local -a items
  for ((i = 2; i < CURRENT; i++)); do
    case "$at/\${words[i]}" in
      (${pathPattern(nodes)}) at="$at/\${words[i]}" ;;
    esac
  done
  case "$at:$prev" in
${values.join("\n")}
  esac
  if [[ $cur == -* ]]; then
    case $at in
${options.join("\n")}
    esac
    _describe option items
    return
  fi
  case $at in
${words.join("\n")}
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _tickflow "$@"
else
  compdef _tickflow tickflow
fi
`;
}

/** fish: the `complete` flags for `values` (`-a` words, `-F` files). */
function fishAction(values: Values): string {
  if (values.kind === "words") return `-a ${quoted(values.words.join(" "))}`;
  if (values.kind === "deployments") return `-a ${quoted(`(${NAMES})`)}`;
  return values.kind === "files" ? "-F" : "";
}

function fishScript(nodes: Node[], help: Help): string {
  const lines = [
    `# fish completion for tickflow ${VERSION}, made by \`tickflow completion fish\`.`,
    "# Install: tickflow completion fish > ~/.config/fish/completions/tickflow.fish",
    "function __tickflow_path",
    "    set -l at tickflow",
    "    for word in (commandline -opc)[2..-1]",
    `        switch "$at/$word"`,
    `            case ${nodes
      .slice(1)
      .map((n) => n.path)
      .join(" ")}`,
    `                set at "$at/$word"`,
    "        end",
    "    end",
    "    echo $at",
    "end",
    "complete -c tickflow -f",
  ];
  for (const node of nodes) {
    const at = `complete -c tickflow -n ${quoted(`test (__tickflow_path) = ${node.path}`)}`;
    for (const c of node.commands) {
      lines.push(`${at} -a ${c.name()} -d ${quoted(help.subcommandDescription(c))}`);
    }
    for (const option of node.options) {
      const names = [
        option.short ? `-s ${option.short.slice(1)}` : "",
        option.long ? `-l ${option.long.slice(2)}` : "",
      ].filter(Boolean);
      // -r: the option takes a value; -x: and it is not a file name.
      const action = takesValue(option) ? fishAction(optionValues(option)) : undefined;
      const value = action === undefined ? "" : action === "-F" ? " -r -F" : ` -x ${action}`.trimEnd();
      lines.push(`${at} ${names.join(" ")}${value} -d ${quoted(option.description)}`);
    }
    const action = node.commands.length > 0 ? "" : fishAction(firstArgument(node));
    if (action !== "") lines.push(`${at} ${action}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The names of the deployments file (`TICKFLOW_CONFIG`, else `deployment/tickflow.yaml`); none when it is absent or unreadable. */
export async function deploymentNames(): Promise<string[]> {
  try {
    const [{ loadSettings }, { parse }] = await Promise.all([
      import("../config/settings.js"),
      import("yaml"),
    ]);
    const doc = parse(await readFile(loadSettings().TICKFLOW_CONFIG, "utf8")) as {
      deployments?: { name?: unknown }[];
    };
    return (doc.deployments ?? []).map((d) => d?.name).filter((n): n is string => typeof n === "string");
  } catch {
    // A TAB must never print an error: no names is the answer.
    return [];
  }
}

/** Text for roff: backslashes and leading dots and quotes escaped, hyphens as minus signs in options. */
function roff(text: string): string {
  return text.replaceAll("\\", "\\e").replace(/^([.'])/gm, "\\&$1");
}

function flagsRoff(flags: string): string {
  return roff(flags)
    .replace(
      /(^|[\s,])(--?[\w-]+)/g,
      (_, before: string, flag: string) => `${before}\\fB${flag.replaceAll("-", "\\-")}\\fR`,
    )
    .replace(/([<[][^>\]]+[>\]])/g, "\\fI$1\\fR");
}

/** An argument as the usage line shows it: `<file>`, `[dir]`, `<path...>`. */
function argumentUsage(argument: Argument): string {
  const name = `${argument.name()}${argument.variadic ? "..." : ""}`;
  return argument.required ? `<${name}>` : `[${name}]`;
}

/** `tickflow.1`: the manual page, in roff, from the program and the settings' descriptions. */
export async function manPage(program: Command): Promise<string> {
  const help = program.createHelp();
  const { settingsSchema } = await import("../config/settings.js");
  const out = [
    `.TH TICKFLOW 1 "" "tickflow ${VERSION}" "User Commands"`,
    ".SH NAME",
    `tickflow \\- ${roff(program.description())}`,
    ".SH SYNOPSIS",
    ".B tickflow",
    "\\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]",
    ".SH DESCRIPTION",
    "Runs pipelines of market data written in YAML: validates and plans them, runs them now or on",
    "their schedules (the daemon), and shows the run history. Every command takes \\fB\\-\\-help\\fR;",
    "those that print data take \\fB\\-\\-json\\fR for machine output. When a daemon holds the database",
    "(or \\fBTICKFLOW_API_URL\\fR is set), the commands that read or change state go through its API.",
    ".SH OPTIONS",
  ];
  const options = (node: Node) => {
    // Every command takes --help: said once, for the program.
    for (const option of node.options.filter((o) => node.words.length === 0 || o.long !== "--help")) {
      out.push(".TP", flagsRoff(option.flags), roff(help.optionDescription(option)));
    }
  };
  const nodes = walk(program);
  options(nodes[0]!);
  out.push(".SH COMMANDS");
  for (const node of nodes.slice(1)) {
    if (node.commands.length > 0) continue; // a group: its commands follow, each with its words
    const args = node.arguments.map((a) => `\\fI${roff(argumentUsage(a))}\\fR`).join(" ");
    out.push(
      `.SS "tickflow ${node.words.join(" ")}${args ? ` ${args}` : ""}"`,
      roff(help.commandDescription(node.command)),
    );
    for (const argument of node.arguments) {
      out.push(".TP", `\\fI${roff(argument.name())}\\fR`, roff(help.argumentDescription(argument)));
    }
    options(node);
  }
  out.push(".SH ENVIRONMENT");
  for (const [name, schema] of Object.entries(settingsSchema.shape)) {
    out.push(".TP", `\\fB${name}\\fR`, roff((schema as { description?: string }).description ?? ""));
  }
  out.push(
    ".SH EXIT STATUS",
    ".TP",
    "0",
    "success",
    ".TP",
    "1",
    "failure: invalid files, a failed run, a refusal (an unknown run or deployment)",
    ".TP",
    "2",
    "usage error: a wrong option, a missing file, a date outside the calendar",
    ".TP",
    "130, 143",
    "interrupted (SIGINT, SIGTERM)",
    ".SH FILES",
    ".TP",
    "\\fI./tickflow.duckdb\\fR",
    "the database (\\fBTICKFLOW_DB\\fR)",
    ".TP",
    "\\fIdeployment/tickflow.yaml\\fR",
    "the deployments file (\\fBTICKFLOW_CONFIG\\fR)",
    ".SH SEE ALSO",
    "\\fBtickflow completion\\fR \\fIbash\\fR|\\fIzsh\\fR|\\fIfish\\fR",
    "",
  );
  return out.join("\n");
}
