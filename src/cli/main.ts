import { Argument, Command, CommanderError, Option } from "commander";
import { SettingsError } from "../config/settings-error.js";
import { storeIoError } from "../store/errors.js";
import { VERSION } from "../version.js";
import {
  completionScript,
  DEPLOYMENT_NAME,
  DEPLOYMENT_NAMES_COMMAND,
  deploymentNames,
  manPage,
} from "./completion.js";
import { ReportedFailure, UsageError } from "./output.js";

const version = VERSION;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * The command line: every verb with its options, and what it runs (`done` is given its exit
 * code). The completion scripts and the man page are made from this definition, so they list
 * what `--help` lists.
 */
export function cliProgram(done: (code: number) => void = () => {}): Command {
  const program = new Command("tickflow")
    .description("Declarative, YAML-driven pipeline runner for market data.")
    .version(version, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command("validate")
    .description(
      "check pipeline, work pool and deployments files (and folders of them); every error with its line and column",
    )
    .argument("<path...>", "files or folders")
    .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
    .option("--json", "same as --format json")
    .action(async (paths: string[], opts: { format: "text" | "json"; json?: boolean }) => {
      const { validateCommand } = await import("./validate.js");
      done(await validateCommand(paths, { format: opts.json ? "json" : opts.format }));
    });

  program
    .command("plan")
    .description("show the task graph a pipeline resolves to")
    .argument("<file>", "pipeline file")
    .option("-p, --param <name=value>", "set a parameter (repeatable)", collect, [])
    .option("--date <YYYY-MM-DD>", "the run's logical date (default: today in New York)")
    .addOption(
      new Option("--format <format>", "output format").choices(["text", "json", "mermaid"]).default("text"),
    )
    .option("--json", "same as --format json")
    .action(
      async (
        file: string,
        opts: { param: string[]; date?: string; format: "text" | "json" | "mermaid"; json?: boolean },
      ) => {
        const { planCommand } = await import("./plan.js");
        done(await planCommand(file, { ...opts, format: opts.json ? "json" : opts.format }));
      },
    );

  program
    .command("run")
    .description("run a pipeline now, in this process, with live progress; history goes to the database")
    .argument("<file>", "pipeline file")
    .option("-p, --param <name=value>", "set a parameter (repeatable)", collect, [])
    .option("--date <YYYY-MM-DD>", "the run's logical date (default: today in New York)")
    .option("--json", "print the final run record as JSON")
    .option("--db <path>", "database file or postgresql:// URL (default: $TICKFLOW_DB or ./tickflow.duckdb)")
    .action(async (file: string, opts: { param: string[]; date?: string; json?: boolean; db?: string }) => {
      const [{ runCommand }, { databaseLocation }] = await Promise.all([
        import("./run.js"),
        import("./db.js"),
      ]);
      done(await runCommand(file, { ...opts, db: databaseLocation(opts.db) }));
    });

  const DB = "database file (default: $TICKFLOW_DB or ./tickflow.duckdb; the daemon's API when it holds it)";

  const runs = program.command("runs").description("run history: ls, show, logs, cancel, retry");
  runs
    .command("ls")
    .description(
      "runs that started or are due, newest first (--upcoming: the scheduled ones to come, soonest first)",
    )
    .option("--limit <n>", "how many (1 to 1000)", "20")
    .option("--pipeline <name>", "only this pipeline's runs")
    .option("--deployment <name>", "only this deployment's runs")
    .option("--state <state>", "only runs in this state (Completed, Failed, Late, ...)")
    .option(
      "--since <when>",
      "only runs since then: a duration back (2h, 7d), a date (UTC) or an ISO instant",
    )
    .option("--upcoming", "only scheduled runs not due yet, soonest first")
    .option("--json", "machine-readable output")
    .option("--db <path>", DB)
    .action(
      async (opts: {
        limit: string;
        pipeline?: string;
        deployment?: string;
        state?: string;
        since?: string;
        upcoming?: boolean;
        json?: boolean;
        db?: string;
      }) => {
        const { runsListCommand } = await import("./runs.js");
        done(await runsListCommand(opts));
      },
    );
  runs
    .command("show")
    .description("one run: its state and history, parameters and every task")
    .argument("<id>", "run id (or a unique prefix)")
    .option("--json", "machine-readable output")
    .option("--db <path>", DB)
    .action(async (id: string, opts: { json?: boolean; db?: string }) => {
      const { runShowCommand } = await import("./runs.js");
      done(await runShowCommand(id, opts));
    });
  runs
    .command("logs")
    .description("a run's log lines; --follow prints new ones as they come until the run ends")
    .argument("<id>", "run id (or a unique prefix)")
    .option("-f, --follow", "keep printing new lines until the run ends")
    .option("--json", "machine-readable output (with --follow, one JSON object a line)")
    .option("--db <path>", DB)
    .action(async (id: string, opts: { json?: boolean; follow?: boolean; db?: string }) => {
      const { runLogsCommand } = await import("./runs.js");
      done(await runLogsCommand(id, opts));
    });
  runs
    .command("cancel")
    .description("cancel a run: a waiting one at once, a running one through the daemon")
    .argument("<id>", "run id (or a unique prefix)")
    .option("--json", "machine-readable output")
    .option("--db <path>", DB)
    .action(async (id: string, opts: { json?: boolean; db?: string }) => {
      const { runsCancelCommand } = await import("./runs.js");
      done(await runsCancelCommand(id, opts));
    });
  runs
    .command("retry")
    .description("a new run of an ended run's deployment (or pipeline), same parameters and date")
    .argument("<id>", "run id (or a unique prefix)")
    .option("--json", "machine-readable output")
    .option("--db <path>", DB)
    .action(async (id: string, opts: { json?: boolean; db?: string }) => {
      const { runsRetryCommand } = await import("./runs.js");
      done(await runsRetryCommand(id, opts));
    });

  program
    .command("deploy")
    .description("register the deployments and work pools; prints what changed")
    .argument("[file]", "deployments file (default: $TICKFLOW_CONFIG or deployment/tickflow.yaml)")
    .option("--json", "machine-readable output")
    .option("--db <path>", DB)
    .action(async (file: string | undefined, opts: { json?: boolean; db?: string }) => {
      const { deployCommand } = await import("./deployments.js");
      done(await deployCommand(file, opts));
    });
  program
    .command("deployments")
    .description("deployments: ls")
    .command("ls")
    .description("the registered deployments and their next run")
    .option("--json", "machine-readable output")
    .option("--db <path>", DB)
    .action(async (opts: { json?: boolean; db?: string }) => {
      const { deploymentsListCommand } = await import("./deployments.js");
      done(await deploymentsListCommand(opts));
    });
  const deploymentVerb = program.command("deployment").description("deployment: run, pause, resume");
  for (const [verb, paused] of [
    ["pause", true],
    ["resume", false],
  ] as const) {
    deploymentVerb
      .command(verb)
      .description(
        paused
          ? "stop a deployment's schedules (a redeploy keeps it paused)"
          : "start a paused deployment's schedules again (from now)",
      )
      .argument("<name>", DEPLOYMENT_NAME)
      .option("--json", "machine-readable output")
      .option("--db <path>", DB)
      .action(async (name: string, opts: { json?: boolean; db?: string }) => {
        const { deploymentPauseCommand } = await import("./deployments.js");
        done(await deploymentPauseCommand(name, paused, opts));
      });
  }
  deploymentVerb
    .command("run")
    .description("a run of a deployment now (the daemon runs it); parameters are checked first")
    .argument("<name>", DEPLOYMENT_NAME)
    .option("-p, --param <name=value>", "override a parameter (repeatable)", collect, [])
    .option("--json", "machine-readable output")
    .option("--db <path>", DB)
    .action(async (name: string, opts: { param: string[]; json?: boolean; db?: string }) => {
      const { deploymentRunCommand } = await import("./deployments.js");
      done(await deploymentRunCommand(name, opts));
    });
  program
    .command("backfill")
    .description("runs of a deployment for past NYSE sessions, within its limits")
    .argument("<name>", DEPLOYMENT_NAME)
    .requiredOption("--from <YYYY-MM-DD>", "first session")
    .requiredOption("--to <YYYY-MM-DD>", "last session")
    .option("--missing", "only sessions where some of the deployment's symbols have no bar")
    .option("--json", "machine-readable output")
    .option("--db <path>", DB)
    .action(
      async (
        name: string,
        opts: { from: string; to: string; missing?: boolean; json?: boolean; db?: string },
      ) => {
        const { backfillCommand } = await import("./deployments.js");
        done(await backfillCommand(name, opts));
      },
    );

  program
    .command("work-pools")
    .description("work pools: ls")
    .command("ls")
    .description("pools and queues: limits, slots in use, runs waiting")
    .option("--json", "machine-readable output")
    .option("--db <path>", DB)
    .action(async (opts: { json?: boolean; db?: string }) => {
      const { workPoolsListCommand } = await import("./pools.js");
      done(await workPoolsListCommand(opts));
    });
  const poolVerb = program.command("work-pool").description("work pool: pause, resume");
  for (const [verb, paused] of [
    ["pause", true],
    ["resume", false],
  ] as const) {
    poolVerb
      .command(verb)
      .description(
        paused
          ? "take no more runs from a pool (a redeploy keeps it paused)"
          : "take runs from a paused pool again",
      )
      .argument("<name>", "work pool name")
      .option("--json", "machine-readable output")
      .option("--db <path>", DB)
      .action(async (name: string, opts: { json?: boolean; db?: string }) => {
        const { workPoolPauseCommand } = await import("./pools.js");
        done(await workPoolPauseCommand(name, paused, opts));
      });
  }

  program
    .command("daemon")
    .description("scheduler, workers and HTTP API in one process (systemd Type=notify)")
    .option("--config <file>", "deployments file (default: $TICKFLOW_CONFIG or deployment/tickflow.yaml)")
    .option("--host <address>", "API address (default: $TICKFLOW_API_HOST or 127.0.0.1)")
    .option("--port <port>", "API port (default: $TICKFLOW_API_PORT or 4200; 0 picks a free one)")
    .option("--db <path>", "database file or postgresql:// URL (default: $TICKFLOW_DB or ./tickflow.duckdb)")
    .option(
      "--name <name>",
      "its name in a PostgreSQL database (default: $TICKFLOW_NAME or host:daemon:port)",
    )
    .action(async (opts: { config?: string; host?: string; port?: string; db?: string; name?: string }) => {
      // It reads --db and the settings itself: their errors are log lines like the rest of its output.
      const { daemonCommand } = await import("./daemon.js");
      done(await daemonCommand(opts));
    });

  program
    .command("worker")
    .description("executes a work pool's runs on this host (PostgreSQL only): no scheduler, no API")
    .requiredOption("--pool <name>", "the work pool whose runs it takes (repeat for more)", collect, [])
    .option("--queue <name>", "only these queues of the pool (repeat for more)", collect, [])
    .option("--name <name>", "its name in the database (default: $TICKFLOW_NAME or host:worker:pool)")
    .option("--db <url>", "database URL (default: $TICKFLOW_DB)")
    .action(async (opts: { pool: string[]; queue: string[]; name?: string; db?: string }) => {
      const { daemonCommand } = await import("./daemon.js");
      done(await daemonCommand(opts, opts));
    });

  program
    .command("ui")
    .description("the web console over a database that no daemon holds, read-only")
    .option("--port <port>", "port (default: 4200; 0 picks a free one)")
    .option("--host <address>", "address (default: 127.0.0.1; others need TICKFLOW_API_TOKEN)")
    .option("--db <path>", "database file (default: $TICKFLOW_DB or ./tickflow.duckdb)")
    .action(async (opts: { port?: string; host?: string; db?: string }) => {
      const { uiCommand } = await import("./ui.js");
      done(await uiCommand(opts));
    });

  const notify = program.command("notify").description("notification channels: test");
  notify
    .command("test")
    .description("send a test message through a channel of the deployments file, now")
    .argument("<channel>", "a channel name of the deployments file")
    .option("--file <path>", "deployments file (default: $TICKFLOW_CONFIG or deployment/tickflow.yaml)")
    .option("--json", "machine-readable output")
    .action(async (channel: string, opts: { file?: string; json?: boolean }) => {
      const { notifyTestCommand } = await import("./notify.js");
      done(await notifyTestCommand(channel, opts));
    });

  const schedule = program.command("schedule").description("schedules: explain when a deployment runs");
  schedule
    .command("explain")
    .description(
      "the next fire times of a deployment, in local time and UTC, with skipped holidays and DST notes",
    )
    .argument("<name>", DEPLOYMENT_NAME)
    .option("--next <n>", "how many fire times per schedule", "5")
    .option("--file <path>", "deployments file (default: $TICKFLOW_CONFIG or deployment/tickflow.yaml)")
    .option("--from <instant>", "ISO instant to start after (default: now), e.g. 2026-03-06T12:00:00Z")
    .option("--json", "machine-readable output")
    .action(async (name: string, opts: { next: string; file?: string; from?: string; json?: boolean }) => {
      const { scheduleExplainCommand } = await import("./schedule.js");
      done(await scheduleExplainCommand(name, opts));
    });

  program
    .command("query")
    .description("read-only SQL over the database (through the daemon's API while it runs)")
    .argument("<sql>", "one SELECT (or WITH ... SELECT, EXPLAIN, DESCRIBE, SHOW)")
    .addOption(
      new Option("--format <format>", "output format").choices(["table", "csv", "json"]).default("table"),
    )
    .option("--json", "same as --format json")
    .option(
      "--limit <n>",
      "most rows to print (default: every row; through the daemon at most, and by default, 100000)",
    )
    .option("--db <path>", DB)
    .action(
      async (
        sql: string,
        opts: { format: "table" | "csv" | "json"; json?: boolean; limit?: string; db?: string },
      ) => {
        const { queryCommand } = await import("./query.js");
        done(await queryCommand(sql, { ...opts, format: opts.json ? "json" : opts.format }));
      },
    );

  const dbVerb = program
    .command("db")
    .description("the database itself: info, migrate (DuckDB or PostgreSQL), copy (DuckDB to PostgreSQL)");
  const DB_OR_URL =
    "database file or postgresql:// URL (default: $TICKFLOW_DB or ./tickflow.duckdb; password from PGPASSWORD or ~/.pgpass)";
  dbVerb
    .command("info")
    .description("which backend (duckdb or postgresql), its version, and the schema version")
    .option("--json", "machine-readable output")
    .option("--db <path-or-url>", DB_OR_URL)
    .action(async (opts: { json?: boolean; db?: string }) => {
      const { dbInfoCommand } = await import("./db.js");
      done(await dbInfoCommand(opts));
    });
  dbVerb
    .command("migrate")
    .description("bring the database's schema up to date (creating a DuckDB file that does not exist)")
    .option("--json", "machine-readable output")
    .option("--db <path-or-url>", DB_OR_URL)
    .action(async (opts: { json?: boolean; db?: string }) => {
      const { dbMigrateCommand } = await import("./db.js");
      done(await dbMigrateCommand(opts));
    });
  dbVerb
    .command("copy")
    .description(
      "copy an installation's DuckDB file into PostgreSQL, every table, all or nothing (both at the same schema version)",
    )
    .requiredOption("--from <file>", "the DuckDB file (opened read-only: stop its daemon first)")
    .requiredOption(
      "--to <url>",
      "the postgresql:// URL (migrated first; password from PGPASSWORD or ~/.pgpass)",
    )
    .option("--force", "empty the target's tables first instead of refusing a database that holds data")
    .option("--json", "machine-readable output")
    .action(async (opts: { from: string; to: string; force?: boolean; json?: boolean }) => {
      const { dbCopyCommand } = await import("./db-copy.js");
      done(await dbCopyCommand(opts));
    });

  program
    .command("steps")
    .description("list the built-in step types with their parameters and outputs")
    .argument("[name]", "one step type")
    .option("--json", "machine-readable output")
    .action(async (name: string | undefined, opts: { json?: boolean }) => {
      const { stepsCommand } = await import("./steps.js");
      done(stepsCommand(name, opts));
    });

  program
    .command("schemas")
    .description("write the JSON Schemas of the three file kinds (for editors)")
    .option("--out <dir>", "folder to write to", "schemas")
    .option("--check", "only report whether the files there are up to date")
    .action(async (opts: { out: string; check?: boolean }) => {
      const { schemasCommand } = await import("./schemas.js");
      done(await schemasCommand(opts));
    });

  program
    .command("init")
    .description(
      "write a starter project: example pipelines, the offline demo and its data, deployments, schemas",
    )
    .argument("[dir]", "folder to write to", ".")
    .option("--force", "overwrite files that exist")
    .action(async (dir: string, opts: { force?: boolean }) => {
      const { initCommand } = await import("./init.js");
      done(await initCommand(dir, opts));
    });

  program
    .command("completion")
    .description("print a shell completion script (commands, options, deployment names)")
    .addArgument(new Argument("<shell>", "the shell").choices(["bash", "zsh", "fish"]))
    .addHelpText(
      "after",
      '\nInstall:\n  bash  tickflow completion bash > /etc/bash_completion.d/tickflow   (or source <(tickflow completion bash))\n  zsh   tickflow completion zsh > "${fpath[1]}/_tickflow"\n  fish  tickflow completion fish > ~/.config/fish/completions/tickflow.fish\n',
    )
    .action((shell: "bash" | "zsh" | "fish") => {
      process.stdout.write(completionScript(program, shell));
      done(0);
    });
  program
    .command("man")
    .description("print the manual page (roff): tickflow man > tickflow.1; man ./tickflow.1")
    .action(async () => {
      process.stdout.write(await manPage(program));
      done(0);
    });
  // For the completion scripts: the names in the deployments file here, when there is one.
  program.command(DEPLOYMENT_NAMES_COMMAND, { hidden: true }).action(async () => {
    process.stdout.write((await deploymentNames()).map((n) => `${n}\n`).join(""));
    done(0);
  });
  return program;
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage error, 130 interrupted). */
export async function main(argv: string[]): Promise<number> {
  quietOnClosedPipe();
  let code = 0;
  const program = cliProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return 0;
      return 2; // commander already printed the message
    }
    if (err instanceof UsageError) {
      process.stderr.write(`tickflow: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ReportedFailure) return 1;
    if (err instanceof SettingsError) {
      process.stderr.write(`tickflow: ${err.message}\n`);
      return 2;
    }
    // A full disk or a read-only folder is the user's to fix: one line, not an internal error.
    const io = storeIoError(err);
    if (io) {
      process.stderr.write(`tickflow: ${io.message}\n`);
      return 1;
    }
    // Never a stack trace for users; TICKFLOW_DEBUG=1 shows it for us.
    const { maskerOf } = await import("../config/masker.js");
    const masker = maskerOf(process.env);
    const message = masker.mask(err instanceof Error ? err.message : String(err));
    process.stderr.write(`tickflow: internal error: ${message}\n`);
    if (process.env.TICKFLOW_DEBUG) process.stderr.write(`${masker.mask((err as Error).stack ?? "")}\n`);
    return 1;
  }
}

/**
 * Output streams that close under us. stdout: `tickflow runs show ID | head -5` closes it before
 * everything is written, which ends the command quietly, as for other Unix tools, instead of with a
 * stack trace. stderr: the log lines of a daemon go there, and a journald restart closes the pipe;
 * logging must never end the process, so a failed write of a log line is dropped.
 */
function quietOnClosedPipe(): void {
  if (process.stdout.listenerCount("error") === 0) {
    process.stdout.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  if (process.stderr.listenerCount("error") === 0) process.stderr.on("error", () => {});
}
