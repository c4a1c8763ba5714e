//! The requests of a fetch, in order (docs/WIRE.md): datastack info, versions and their tables
//! and views, the chosen version's table metadata, its views' columns, unique string values, schema types. Everything is read
//! into memory; nothing is written here.

use std::collections::{BTreeMap, BTreeSet};

use cave_runtime::blocking::Client;
use cave_wire::paths::{self, materialize::v3};
use cave_wire::{TableMetadata, ViewMetadata};

use super::config::FetchConfig;
use super::error::FetchError;
use super::progress::Progress;
use super::server_data::{
    ServerData, ServerVersion, ServerView, check_table, check_type_name, check_types,
    check_versions, check_view,
};
use cave_schema::snapshot::Snapshot;

/// Read what the snapshot needs from the server. `existing` (the snapshot being refreshed)
/// decides which extra tables need metadata and which tables have value-set columns.
pub fn download(
    config: &FetchConfig,
    existing: Option<&Snapshot>,
    progress: &mut Progress,
) -> Result<ServerData, FetchError> {
    let server = config.server_url().to_string();
    let ds = config.datastack.as_str();
    // The server and `--local-server` are checked here (https off loopback), the advertised
    // local server when it is first used.
    let client = config.client()?;

    progress.working("datastack info");
    let info = client.info()?;
    progress.finished("datastack info");
    if config.local_server.is_none() && info.local_server.as_deref().is_none_or(str::is_empty) {
        return Err(FetchError::Server {
            message: format!(
                "the datastack record at {} names no local_server (the materialization \
                 server); pass --local-server URL",
                paths::info::DATASTACK_FULL.url(&server, &[ds])
            ),
        });
    }
    let local = client.local_server()?;
    let url = |template: paths::Template, rest: &[&str]| {
        let mut values = vec![ds];
        values.extend_from_slice(rest);
        template.url(&local, &values)
    };

    let (versions, view_records) = read_versions(&client, &url, progress).map_err(|e| match e {
        FetchError::Request { error, hint: None }
            if config.local_server.is_none()
                && matches!(*error, cave_runtime::Error::Transport { .. }) =>
        {
            FetchError::Request {
                error,
                hint: Some(format!(
                    "the datastack record names {local} as the materialization server; to \
                     reach it another way (an SSH tunnel), pass --local-server URL"
                )),
            }
        }
        e => e,
    })?;
    let metadata_url = url(v3::METADATA, &[]) + "?expired=True";
    let chosen = choose_version(&versions, config.version, &metadata_url)?;
    let chosen_tables: BTreeSet<&str> = versions
        .iter()
        .find(|v| v.version() == chosen)
        .map(|v| v.tables.iter().map(String::as_str).collect())
        .unwrap_or_default();

    let tables = read_tables(
        &client,
        &url,
        &versions,
        chosen,
        &chosen_tables,
        existing,
        progress,
    )?;

    let views = read_views(
        &client,
        &url,
        &versions,
        chosen,
        view_records,
        existing,
        progress,
    )?;

    let mapped: Vec<&String> = existing
        .map(|e| {
            e.value_sets
                .columns
                .keys()
                .filter(|t| chosen_tables.contains(t.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let mut unique_values = BTreeMap::new();
    for (i, table) in mapped.iter().enumerate() {
        progress.working(format!("unique values {i}/{}", mapped.len()));
        let values = client.unique_string_values(table)?;
        unique_values.insert((*table).clone(), values);
    }
    if !mapped.is_empty() {
        progress.finished(format!("unique values {0}/{0}", mapped.len()));
    }

    progress.working("types");
    let mut notes = Vec::new();
    let types_url = paths::schema::TYPES_ALL.url(&server, &[]);
    let one_type_url = paths::schema::TYPES.url(&server, &[]) + "/";
    let (types, types_source) = match client.schema_types_all() {
        Ok(types) => {
            // An answer of the right shape with names that are paths, or thousands of types,
            // is not a reason to ask another way: it is an error.
            check_types(&types_url, &types)?;
            (types, types_url)
        }
        Err(e) => {
            notes.push(format!(
                "types_all failed, so the schema types of the tables were read one by one: {e}"
            ));
            let wanted = referenced_types(&versions, &tables, existing);
            for name in &wanted {
                check_type_name(&one_type_url, name)?;
            }
            let mut types = BTreeMap::new();
            for (i, name) in wanted.iter().enumerate() {
                progress.working(format!("types {i}/{}", wanted.len()));
                types.insert(name.clone(), client.schema_type(name)?);
            }
            (types, one_type_url)
        }
    };
    progress.finished("types");
    progress.end();

    Ok(ServerData {
        server,
        info,
        versions,
        chosen_version: chosen,
        tables,
        unique_values,
        views,
        types,
        types_source,
        notes,
    })
}

/// The most materialization versions a fetch reads (each costs a request).
const MAX_VERSIONS: usize = 10_000;

/// The view records of each version, by version.
type ViewRecords = BTreeMap<u32, BTreeMap<String, ViewMetadata>>;

/// Every version with its table and view lists (and the view records, kept for
/// [`read_views`]).
fn read_versions(
    client: &Client,
    url: &dyn Fn(paths::Template, &[&str]) -> String,
    progress: &mut Progress,
) -> Result<(Vec<ServerVersion>, ViewRecords), FetchError> {
    progress.working("versions");
    let metadata_url = url(v3::METADATA, &[]) + "?expired=True";
    let mut versions = check_versions(&metadata_url, client.all_versions_metadata()?)?;
    if versions.len() > MAX_VERSIONS {
        return Err(FetchError::malformed(
            &metadata_url,
            format!(
                "{} versions listed, more than the {MAX_VERSIONS} a fetch reads (one request \
                 each)",
                versions.len()
            ),
        ));
    }
    if versions.is_empty() {
        return Err(FetchError::Server {
            message: format!("GET {metadata_url} lists no materialization versions"),
        });
    }
    let n = versions.len();
    let mut view_records = BTreeMap::new();
    for (i, version) in versions.iter_mut().enumerate() {
        progress.working(format!("versions {i}/{n}"));
        let v = version.version();
        let mut tables = client.tables(Some(v))?;
        tables.sort();
        tables.dedup();
        version.tables = tables;
        // A server without views for a version (or without the view API) answers 404.
        let views = match client.views(Some(v)) {
            Err(cave_runtime::Error::Http { status: 404, .. }) => BTreeMap::new(),
            other => other?,
        };
        let views_url = url(v3::VIEWS, &[&v.to_string()]);
        for (name, record) in &views {
            check_view(&views_url, name, record)?;
        }
        version.views = views.keys().cloned().collect();
        view_records.insert(v, views);
    }
    progress.finished(format!("versions {n}/{n}"));
    Ok((versions, view_records))
}

/// The views of the chosen version with their columns (one `views/schemas` request), plus
/// views of other versions the existing snapshot does not describe (the `views/schemas` of
/// the newest version that lists them).
fn read_views(
    client: &Client,
    url: &dyn Fn(paths::Template, &[&str]) -> String,
    versions: &[ServerVersion],
    chosen: u32,
    mut records: ViewRecords,
    existing: Option<&Snapshot>,
    progress: &mut Progress,
) -> Result<BTreeMap<String, ServerView>, FetchError> {
    let mut wanted: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let order = versions
        .iter()
        .filter(|v| v.version() == chosen)
        .chain(versions.iter().rev().filter(|v| v.version() != chosen));
    for version in order {
        for name in &version.views {
            let described = existing.is_some_and(|e| e.views.contains_key(name));
            if (version.version() == chosen || !described) && seen.insert(name.clone()) {
                wanted
                    .entry(version.version())
                    .or_default()
                    .push(name.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    if wanted.is_empty() {
        return Ok(out);
    }
    progress.working("views");
    for (v, names) in wanted {
        let schemas_url = url(v3::VIEW_SCHEMAS, &[&v.to_string()]);
        let mut schemas = client.view_schemas(Some(v))?;
        let mut version_records = records.remove(&v).unwrap_or_default();
        for name in names {
            let Some(metadata) = version_records.remove(&name) else {
                continue;
            };
            // A view the schemas omit gets no columns (its types are then unknown).
            let schema = schemas.remove(&name).unwrap_or_default();
            if schema.columns.iter().any(|c| c.name.is_empty()) {
                return Err(FetchError::malformed(
                    &schemas_url,
                    format!("view `{name}`: a column without a name"),
                ));
            }
            out.insert(name, ServerView { metadata, schema });
        }
    }
    progress.finished("views");
    Ok(out)
}

/// `wanted`, when the server lists it, else the newest valid version.
fn choose_version(
    versions: &[ServerVersion],
    wanted: Option<u32>,
    metadata_url: &str,
) -> Result<u32, FetchError> {
    let listed = || {
        let all: Vec<String> = versions.iter().map(|v| v.version().to_string()).collect();
        all.join(", ")
    };
    match wanted {
        Some(v) if versions.iter().any(|x| x.version() == v) => Ok(v),
        Some(v) => Err(FetchError::Server {
            message: format!(
                "version {v} is not among the versions {metadata_url} lists: {}",
                listed()
            ),
        }),
        None => versions
            .iter()
            .rev()
            .find(|v| v.valid)
            .map(ServerVersion::version)
            .ok_or_else(|| FetchError::Server {
                message: format!(
                    "{metadata_url} lists no valid version (only {}); pass --version",
                    listed()
                ),
            }),
    }
}

/// Metadata of the chosen version's tables (one request), plus, one by one, tables that list
/// left out and tables of other versions the existing snapshot does not describe.
fn read_tables(
    client: &Client,
    url: &dyn Fn(paths::Template, &[&str]) -> String,
    versions: &[ServerVersion],
    chosen: u32,
    chosen_tables: &BTreeSet<&str>,
    existing: Option<&Snapshot>,
    progress: &mut Progress,
) -> Result<BTreeMap<String, TableMetadata>, FetchError> {
    progress.working("tables metadata");
    let list_url = url(v3::TABLES_METADATA, &[&chosen.to_string()]);
    let mut tables = BTreeMap::new();
    for t in client.tables_metadata(Some(chosen))? {
        if chosen_tables.contains(t.table_name.as_str()) {
            tables.insert(t.table_name.clone(), check_table(&list_url, t)?);
        }
    }

    let mut one_by_one: Vec<(String, u32)> = chosen_tables
        .iter()
        .filter(|t| !tables.contains_key(**t))
        .map(|t| (t.to_string(), chosen))
        .collect();
    for version in versions.iter().rev() {
        for t in &version.tables {
            let known = existing.is_some_and(|e| e.table(t).is_some());
            if !known
                && !chosen_tables.contains(t.as_str())
                && !one_by_one.iter().any(|(x, _)| x == t)
            {
                one_by_one.push((t.clone(), version.version()));
            }
        }
    }
    for (i, (table, version)) in one_by_one.iter().enumerate() {
        progress.working(format!("tables metadata {i}/{}", one_by_one.len()));
        let one_url = url(v3::TABLE_METADATA, &[&version.to_string(), table]);
        let mut meta = check_table(&one_url, client.table_metadata(table, Some(*version))?)?;
        meta.table_name = table.clone();
        tables.insert(table.clone(), meta);
    }
    progress.finished("tables metadata");
    Ok(tables)
}

/// The schema types the tables of every version need: from the fetched metadata, else from
/// the existing snapshot.
fn referenced_types(
    versions: &[ServerVersion],
    tables: &BTreeMap<String, TableMetadata>,
    existing: Option<&Snapshot>,
) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for t in versions.iter().flat_map(|v| &v.tables) {
        let schema_type = match tables.get(t) {
            Some(meta) => meta.schema_type.clone(),
            None => existing.and_then(|e| e.table(t)?.schema_type.clone()),
        };
        names.extend(schema_type);
    }
    names
}
