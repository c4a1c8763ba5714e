//! `cave`: inspect CAVE schema types and the committed snapshot, refresh it from a server.
//!
//! Run from the repository as `cargo run -p cave-cli -- <subcommand>`. `fetch` and `check`
//! read a CAVE server (`cave_cli::fetch`); the other commands work offline.

// The doc comments below are clap's help text (`[default: ..]` included), not rustdoc.
#![allow(rustdoc::broken_intra_doc_links)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cave_cli::fetch::{
    CheckOutcome, FetchConfig, FetchOutcome, Progress, TOKEN_ENV, check_snapshot, fetch_snapshot,
    find_token,
};
use cave_schema::{Column, SchemaType, Snapshot, TypeSet, canonical_json};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{Map, Value, json};

#[derive(Parser)]
#[command(
    name = "cave",
    version,
    about = "Inspect CAVE annotation schemas and the committed snapshot"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// SQL over the datastack's tables with DataFusion: runs the `cave-sql` program (from the
    /// crate `cave-sql`, beside `cave` or on the PATH) with these arguments; see `cave sql --help`.
    #[command(disable_help_flag = true)]
    Sql {
        /// The arguments of `cave-sql` (the query and its options).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// List the columns a materialization query returns for a schema type or a table.
    Columns {
        /// The schema type, e.g. `synapse` (or use --table / --all).
        #[arg(required_unless_present_any = ["all", "table"], conflicts_with_all = ["all", "table"])]
        schema_type: Option<String>,
        /// Every schema type.
        #[arg(long, conflicts_with = "table")]
        all: bool,
        /// A table of the datastack snapshot, e.g. `proofreading_status_and_strategy`.
        #[arg(long)]
        table: Option<String>,
        /// Folder of schema types (or a `types_all` JSON file) [default: the snapshot's
        /// `schemas/types`].
        #[arg(long, value_name = "DIR")]
        schemas: Option<PathBuf>,
        /// Datastack snapshot folder, for --table [default: `schemas/minnie65_public`].
        #[arg(long, value_name = "DIR")]
        datastack_dir: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Load a datastack snapshot, check it, and summarise it.
    Validate {
        /// Datastack snapshot folder [default: `schemas/minnie65_public`].
        #[arg(long, value_name = "DIR")]
        datastack_dir: Option<PathBuf>,
    },
    /// Rewrite a datastack snapshot and its schema types in canonical form (sorted keys,
    /// two-space indentation, trailing newline); files already canonical are not touched.
    Format {
        /// Datastack snapshot folder [default: `schemas/minnie65_public`].
        #[arg(long, value_name = "DIR")]
        datastack_dir: Option<PathBuf>,
    },
    /// Write schema types from saved schema-service output (a folder of `<type>.json` or a
    /// `types_all` response) into a snapshot's types folder, in canonical form.
    ImportTypes {
        /// The folder or file to read.
        from: PathBuf,
        /// The types folder to write [default: `schemas/types`].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Print the code `datastack!` generates for a snapshot, formatted (for reading, review,
    /// or a `build.rs` that writes it to a file).
    Generate {
        /// Datastack snapshot folder [default: `schemas/minnie65_public`].
        #[arg(long, value_name = "DIR")]
        datastack_dir: Option<PathBuf>,
        #[command(flatten)]
        selection: SelectionArgs,
        /// Write to this file instead of stdout (only if the content changes).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Write the Markdown catalogue of a snapshot: every table, column, filter method and enum
    /// `datastack!` generates, with the snapshot's descriptions (e.g. `docs/minnie65_public.md`).
    Docs {
        /// Datastack snapshot folder [default: `schemas/minnie65_public`].
        #[arg(long, value_name = "DIR")]
        datastack_dir: Option<PathBuf>,
        #[command(flatten)]
        selection: SelectionArgs,
        /// Write to this file instead of stdout (only if the content changes).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Read a datastack from a CAVE server and merge it into its snapshot.
    ///
    /// The merge rules are in docs/SNAPSHOT.md, "Refreshing". Everything is read and checked
    /// before anything is written; only files whose content changes are written, none when the
    /// server agrees with the snapshot.
    Fetch {
        #[command(flatten)]
        server: ServerArgs,
        /// The datastack folder to write [default: `schemas/<datastack>`].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Compare a committed snapshot with a CAVE server (exit 0: agree, 1: differ, 2: error).
    ///
    /// Fetches as `fetch` does, into memory, and lists what a fetch would change, one line per
    /// change, with the `fetch` command that applies them.
    Check {
        #[command(flatten)]
        server: ServerArgs,
        /// The datastack folder [default: `schemas/<datastack>`].
        #[arg(long, value_name = "DIR")]
        datastack_dir: Option<PathBuf>,
    },
}

/// Which tables code is generated for: the `datastack!` options.
#[derive(Args)]
struct SelectionArgs {
    /// Only the tables of this materialization version (and pin queries to it).
    #[arg(long, value_name = "V")]
    version: Option<u32>,
    /// Only these tables, comma-separated (reference targets come along).
    #[arg(long, value_name = "TABLES", value_delimiter = ',')]
    tables: Option<Vec<String>>,
}

impl SelectionArgs {
    fn options(self) -> cave_codegen::Options {
        cave_codegen::Options {
            version: self.version,
            tables: self.tables,
            ..Default::default()
        }
    }
}

/// Where `fetch` and `check` read from.
#[derive(Args)]
struct ServerArgs {
    /// The global server (info and schema services), e.g. `https://global.daf-apis.com`.
    #[arg(long, value_name = "URL")]
    server: String,
    /// The datastack, e.g. `minnie65_public`.
    #[arg(long)]
    datastack: String,
    /// The version whose table metadata is read [default: the newest valid version].
    #[arg(long, value_name = "V")]
    version: Option<u32>,
    /// Send materialization requests here instead of the info record's `local_server` (an SSH
    /// tunnel, a local devserver); the info record is stored as served.
    #[arg(long, value_name = "URL")]
    local_server: Option<String>,
    /// The CAVE token [default: $CAVE_TOKEN, else caveclient's files in
    /// ~/.cloudvolume/secrets].
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Allow plain http:// servers that are not on this machine (the token then travels
    /// unencrypted) [default: only https://, and http:// on loopback].
    #[arg(long)]
    allow_insecure_http: bool,
}

impl ServerArgs {
    fn config(&self) -> Result<FetchConfig, String> {
        let env = std::env::var(TOKEN_ENV).ok();
        let home = std::env::home_dir();
        let token = find_token(
            self.token.as_deref(),
            env.as_deref(),
            home.as_deref(),
            &self.server,
        )
        .map_err(|e| e.to_string())?;
        let mut config = FetchConfig::new(&self.server, &self.datastack);
        config.version = self.version;
        config.local_server = self.local_server.clone();
        config.token = token;
        config.allow_insecure_http = self.allow_insecure_http;
        Ok(config)
    }

    /// The `fetch` command that brings the snapshot at `dir` up to date (without the token).
    fn fetch_command(&self, dir: &Path) -> String {
        let mut command = format!(
            "cargo run -p cave-cli -- fetch --server {} --datastack {}",
            self.server, self.datastack
        );
        if let Some(v) = self.version {
            let _ = write!(command, " --version {v}");
        }
        if let Some(local) = &self.local_server {
            let _ = write!(command, " --local-server {local}");
        }
        if self.allow_insecure_http {
            command.push_str(" --allow-insecure-http");
        }
        let _ = write!(command, " --out {}", dir.display());
        command
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Aligned text for people.
    Table,
    /// `{"<type>": [{"name", "type", "nullable", "role"}, ...]}`.
    Json,
}

/// Exit status of `check` when the snapshot differs from the server.
const EXIT_DIFFERS: u8 = 1;
/// Exit status of `check` when the server could not be read.
const EXIT_CHECK_ERROR: u8 = 2;

fn main() -> ExitCode {
    let command = Cli::parse().command;
    let error_status = if matches!(command, Command::Check { .. }) {
        ExitCode::from(EXIT_CHECK_ERROR)
    } else {
        ExitCode::FAILURE
    };
    // Text from servers (and from the files they wrote) may hold terminal escape codes: what
    // is printed has them escaped.
    match run(command) {
        Ok((text, status)) => {
            let text = cave_wire::untrusted::printable(&text);
            // A closed pipe (`| head`) is the reader's choice, not an error.
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => status,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => status,
                Err(e) => {
                    eprintln!("error: cannot write the output: {e}");
                    error_status
                }
            }
        }
        Err(message) => {
            eprintln!("error: {}", cave_wire::untrusted::printable(&message));
            error_status
        }
    }
}

/// Run one command; its output is returned whole, with the exit status, and printed by `main`.
/// `cave sql ...`: the `cave-sql` program beside this one, else on the PATH, with `args`; its
/// exit status. (SQL lives in its own crate so that the CLI does not compile DataFusion.)
fn run_sql(args: &[String]) -> ExitCode {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| {
            Some(
                exe.parent()?
                    .join(format!("cave-sql{}", std::env::consts::EXE_SUFFIX)),
            )
        })
        .filter(|p| p.is_file());
    let program = beside.unwrap_or_else(|| PathBuf::from("cave-sql"));
    match std::process::Command::new(&program).args(args).status() {
        Ok(status) => match status.code() {
            Some(0) => ExitCode::SUCCESS,
            Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            None => ExitCode::FAILURE,
        },
        Err(e) => {
            eprintln!(
                "error: `cave sql` runs the `cave-sql` program, which was not found ({}: {e}); \
                 install it with `cargo install cave-sql`, or build it with `cargo build -p cave-sql`",
                program.display()
            );
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(String, ExitCode), String> {
    match command {
        Command::Sql { args } => Ok((String::new(), run_sql(&args))),
        Command::Fetch { server, out } => {
            let out = match out {
                Some(dir) => dir,
                None => resolve(None, "schemas")?.join(&server.datastack),
            };
            let config = server.config()?;
            let outcome = fetch_snapshot(&config, &out, &mut Progress::stderr())
                .map_err(|e| e.to_string())?;
            Ok((report_fetch(&config, &out, &outcome), ExitCode::SUCCESS))
        }
        Command::Check {
            server,
            datastack_dir,
        } => {
            let dir = resolve(datastack_dir, &format!("schemas/{}", server.datastack))?;
            let config = server.config()?;
            let outcome = check_snapshot(&config, &dir, &mut Progress::stderr())
                .map_err(|e| e.to_string())?;
            let status = if outcome.differs {
                ExitCode::from(EXIT_DIFFERS)
            } else {
                ExitCode::SUCCESS
            };
            Ok((report_check(&server, &config, &dir, &outcome), status))
        }
        other => run_offline(other).map(|text| (text, ExitCode::SUCCESS)),
    }
}

/// The commands that need no server.
fn run_offline(command: Command) -> Result<String, String> {
    match command {
        Command::Fetch { .. } | Command::Check { .. } | Command::Sql { .. } => {
            Err("fetch, check and sql need a server; `run` handles them".to_string())
        }
        Command::Columns {
            schema_type,
            all,
            table,
            schemas,
            datastack_dir,
            format,
        } => {
            if let Some(table) = table {
                let snapshot = load_snapshot(datastack_dir)?;
                let meta = snapshot.table(&table).ok_or_else(|| {
                    format!(
                        "no table `{table}` in the snapshot{}",
                        suggest(&table, snapshot.tables.keys())
                    )
                })?;
                let schema = snapshot.schema_of(&table).ok_or_else(|| {
                    format!("table `{table}` has no known schema type in the snapshot; it can only be queried untyped")
                })?;
                return Ok(print_columns(
                    &[(table.as_str(), schema)],
                    format,
                    Some((&snapshot, &table, meta.description.as_deref())),
                ));
            }
            let types = load_types(schemas)?;
            let selected: Vec<(&str, &SchemaType)> = if all {
                types.iter().map(|t| (t.name.as_str(), t)).collect()
            } else {
                let name = schema_type.unwrap_or_default();
                let t = types.get(&name).ok_or_else(|| {
                    format!("no schema type `{name}`{}", suggest(&name, types.names()))
                })?;
                vec![(t.name.as_str(), t)]
            };
            Ok(print_columns(&selected, format, None))
        }
        Command::Generate {
            datastack_dir,
            selection,
            out,
        } => {
            let snapshot = load_snapshot(datastack_dir)?;
            let source = cave_codegen::generate_source(&snapshot, &selection.options())
                .map_err(|e| e.to_string())?;
            write_or_return(out, source)
        }
        Command::Docs {
            datastack_dir,
            selection,
            out,
        } => {
            let snapshot = load_snapshot(datastack_dir)?;
            let text = cave_codegen::catalogue::markdown(&snapshot, &selection.options())
                .map_err(|e| e.to_string())?;
            write_or_return(out, text)
        }
        Command::Validate { datastack_dir } => {
            let snapshot = load_snapshot(datastack_dir)?;
            let typed = snapshot
                .tables
                .keys()
                .filter(|t| snapshot.schema_of(t).is_some())
                .count();
            let latest = snapshot
                .latest_version()
                .map(|v| v.version.to_string())
                .unwrap_or_else(|| "none".into());
            let views_typed = snapshot
                .views
                .values()
                .filter(|v| !v.columns.is_empty())
                .count();
            Ok(format!(
                "{}: ok ({:?}; {} schema types, {} versions up to {latest}, {} tables of which {typed} typed, {} views of which {views_typed} typed, {} value sets)\n",
                snapshot.manifest.datastack,
                snapshot.manifest.provenance.kind,
                snapshot.types.len(),
                snapshot.versions.len(),
                snapshot.tables.len(),
                snapshot.views.len(),
                snapshot.value_sets.value_sets.len(),
            ))
        }
        Command::Format { datastack_dir } => {
            let dir = resolve(datastack_dir, "schemas/minnie65_public")?;
            let snapshot = Snapshot::load(&dir).map_err(|e| e.to_string())?;
            let written = snapshot.write_with_types(&dir).map_err(|e| e.to_string())?;
            Ok(report_written(&written))
        }
        Command::ImportTypes { from, out } => {
            let types = TypeSet::load(&from).map_err(|e| e.to_string())?;
            let out_dir = match out {
                Some(dir) => dir,
                None => resolve(None, "schemas/types")?,
            };
            let written = types.write(&out_dir).map_err(|e| e.to_string())?;
            Ok(format!(
                "{} schema types in {}\n{}",
                types.len(),
                out_dir.display(),
                report_written(&written)
            ))
        }
    }
}

/// Write `text` to `out` (only if it changes) and report it, or return it for stdout.
fn write_or_return(out: Option<PathBuf>, text: String) -> Result<String, String> {
    let Some(path) = out else {
        return Ok(text);
    };
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        return Ok(format!("{} is up to date\n", path.display()));
    }
    cave_schema::commit::write_file(&path, &text).map_err(|e| e.to_string())?;
    Ok(format!(
        "wrote {} ({} lines)\n",
        path.display(),
        text.lines().count()
    ))
}

fn report_fetch(config: &FetchConfig, out: &Path, outcome: &FetchOutcome) -> String {
    let mut text = String::new();
    let ds = &config.datastack;
    let server = config.server_url();
    if !outcome.changed {
        let _ = writeln!(
            text,
            "{ds}: up to date: the snapshot at {} agrees with {server} (table metadata of version {}); no file written",
            out.display(),
            outcome.version
        );
    } else if outcome.changes.len() > 60 {
        let s = &outcome.snapshot;
        let _ = writeln!(
            text,
            "{ds}: fetched from {server} into {}: {} versions, {} tables (metadata of version {}), {} schema types, {} value sets",
            out.display(),
            s.versions.len(),
            s.tables.len(),
            outcome.version,
            s.types.len(),
            s.value_sets.value_sets.len()
        );
    } else {
        let _ = writeln!(
            text,
            "{ds}: fetched from {server} into {} (table metadata of version {}): {} changes",
            out.display(),
            outcome.version,
            outcome.changes.len()
        );
        let _ = writeln!(text, "(+ added, - removed, ~ before → after)\n");
        let _ = writeln!(text, "{}", outcome.changes);
    }
    for file in &outcome.written {
        let _ = writeln!(text, "wrote {}", file.display());
    }
    write_notes(&mut text, &outcome.notes);
    text
}

fn report_check(
    args: &ServerArgs,
    config: &FetchConfig,
    dir: &Path,
    outcome: &CheckOutcome,
) -> String {
    let mut text = String::new();
    let ds = &config.datastack;
    let server = config.server_url();
    if outcome.differs {
        let _ = writeln!(
            text,
            "{ds}: the snapshot at {} differs from {server} (table metadata of version {}): {} changes",
            dir.display(),
            outcome.version,
            outcome.changes.len()
        );
        let _ = writeln!(
            text,
            "(+ on the server, not in the snapshot; - in the snapshot, not on the server; ~ snapshot → server)\n"
        );
        let _ = writeln!(text, "{}", outcome.changes);
        let _ = writeln!(
            text,
            "update the snapshot with:\n  {}",
            args.fetch_command(dir)
        );
    } else {
        let _ = writeln!(
            text,
            "{ds}: the snapshot at {} agrees with {server} (table metadata of version {})",
            dir.display(),
            outcome.version
        );
    }
    write_notes(&mut text, &outcome.notes);
    text
}

fn write_notes(text: &mut String, notes: &[String]) {
    if notes.is_empty() {
        return;
    }
    let _ = writeln!(text, "\nnotes ({}):", notes.len());
    for note in notes {
        let _ = writeln!(text, "  {note}");
    }
}

fn report_written(written: &[PathBuf]) -> String {
    let mut out = String::new();
    if written.is_empty() {
        let _ = writeln!(out, "all files already canonical; nothing written");
    }
    for file in written {
        let _ = writeln!(out, "wrote {}", file.display());
    }
    out
}

fn load_types(schemas: Option<PathBuf>) -> Result<TypeSet, String> {
    let path = resolve(schemas, "schemas/types")?;
    TypeSet::load(&path).map_err(|e| e.to_string())
}

fn load_snapshot(dir: Option<PathBuf>) -> Result<Snapshot, String> {
    let dir = resolve(dir, "schemas/minnie65_public")?;
    Snapshot::load(&dir).map_err(|e| e.to_string())
}

/// The given path, or the default `relative` path found in the current folder or one of its
/// ancestors, or else in this repository's checkout.
fn resolve(given: Option<PathBuf>, relative: &str) -> Result<PathBuf, String> {
    if let Some(path) = given {
        return if path.exists() {
            Ok(path)
        } else {
            Err(format!("{} does not exist", path.display()))
        };
    }
    let mut tried = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            tried.push(dir.join(relative));
        }
    }
    tried.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(relative),
    );
    tried.iter().find(|p| p.exists()).cloned().ok_or_else(|| {
        let list: Vec<String> = tried.iter().map(|p| format!("  {}", p.display())).collect();
        format!(
            "cannot find `{relative}`; tried:\n{}\npass the path explicitly",
            list.join("\n")
        )
    })
}

fn suggest<S: AsRef<str>>(name: &str, candidates: impl IntoIterator<Item = S>) -> String {
    cave_schema::suggest::did_you_mean(name, candidates)
}

fn print_columns(
    selected: &[(&str, &SchemaType)],
    format: Format,
    table: Option<(&Snapshot, &str, Option<&str>)>,
) -> String {
    let mut out = String::new();
    match format {
        Format::Json => {
            let mut json = Map::new();
            for (name, schema) in selected {
                let columns: Vec<Value> = schema
                    .columns()
                    .iter()
                    .map(|c| json!({"name": c.name, "type": c.wire.as_str(), "nullable": c.nullable, "role": c.role.as_str()}))
                    .collect();
                json.insert(name.to_string(), Value::Array(columns));
            }
            out.push_str(&canonical_json::to_string(&Value::Object(json)));
        }
        Format::Table => {
            for (i, (name, schema)) in selected.iter().enumerate() {
                if i > 0 {
                    let _ = writeln!(out);
                }
                let columns = schema.columns();
                match table {
                    Some((snapshot, t, description)) => {
                        let meta = snapshot.table(t);
                        let _ = writeln!(
                            out,
                            "table {t}: schema type {}, {} columns",
                            schema.name,
                            columns.len()
                        );
                        if let Some(target) = meta.and_then(|m| m.reference_table.as_deref()) {
                            let _ = writeln!(
                                out,
                                "reference annotation on {target} (queries join its columns)"
                            );
                        }
                        if let Some(d) = description {
                            let _ = writeln!(out, "{}", d.trim());
                        }
                    }
                    None => {
                        let reference = if schema.is_reference() {
                            ", reference annotation"
                        } else {
                            ""
                        };
                        let _ = writeln!(
                            out,
                            "schema type {name} ({}{reference}): {} columns",
                            schema.class_name,
                            columns.len()
                        );
                    }
                }
                out.push_str(&print_table(&columns, table.map(|(s, t, _)| (s, t))));
            }
        }
    }
    out
}

fn print_table(columns: &[Column], table: Option<(&Snapshot, &str)>) -> String {
    let mut out = String::new();
    let rows: Vec<[String; 5]> = columns
        .iter()
        .map(|c| {
            let enum_note = match (&c.field, table.and_then(|(s, t)| s.value_set(t, &c.name))) {
                (_, Some((set, _))) => format!(" [values: {set}]"),
                (Some(f), None) => match &f.kind {
                    cave_schema::FieldKind::Enum(e) => {
                        let values: Vec<String> =
                            e.values.iter().map(ToString::to_string).collect();
                        format!(" [one of: {}]", values.join(", "))
                    }
                    _ => String::new(),
                },
                _ => String::new(),
            };
            [
                c.name.clone(),
                c.wire.as_str().to_string(),
                if c.nullable { "yes" } else { "no" }.to_string(),
                c.role.as_str().to_string(),
                format!("{}{enum_note}", c.description().unwrap_or_default()),
            ]
        })
        .collect();
    let header = ["column", "type", "nullable", "role", "description"].map(String::from);
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .chain([&header])
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(&header).chain(rows.iter()) {
        let line = format!(
            "{:w0$}  {:w1$}  {:w2$}  {:w3$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}
