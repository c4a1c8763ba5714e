//! The requests of a fetch, in order (API.md §4-§6): datastack info, versions and their tables,
//! the chosen version's table metadata, unique string values, schema types. Everything is read
//! into memory; nothing is written here.

use std::collections::{BTreeMap, BTreeSet};

use super::client::{Client, join_url, segment};
use super::config::FetchConfig;
use super::error::FetchError;
use super::progress::Progress;
use super::server_data::{
    ServerData, ServerTable, ServerVersion, check_type_name, check_types, parse_info,
    parse_table_list, parse_table_metadata, parse_tables_metadata, parse_types_all,
    parse_unique_values, parse_versions,
};
use cave_schema::snapshot::Snapshot;
use cave_schema::untrusted::{check_transport, is_loopback_url};

/// Read what the snapshot needs from the server. `existing` (the snapshot being refreshed)
/// decides which extra tables need metadata and which tables have value-set columns.
pub fn download(
    client: &Client,
    config: &FetchConfig,
    existing: Option<&Snapshot>,
    progress: &mut Progress,
) -> Result<ServerData, FetchError> {
    let server = config.server_url().to_string();
    let ds = segment(&config.datastack);
    let insecure = config.allow_insecure_http;
    let transport = |what: &str, url: &str, loopback_ok: bool| {
        check_transport(what, url, insecure, loopback_ok)
            .map_err(|message| FetchError::Server { message })
    };
    transport("server", &server, true)?;
    if let Some(local) = &config.local_server {
        transport("--local-server", local, true)?;
    }

    progress.working("datastack info");
    let info_url = join_url(&server, &format!("/info/api/v2/datastack/full/{ds}"));
    let info = parse_info(&info_url, client.get_json(&info_url)?)?;
    progress.finished("datastack info");

    let local = match (&config.local_server, &info.local_server) {
        (Some(local), _) => local.clone(),
        (None, Some(local)) if !local.is_empty() => {
            // Plain http to this machine only when the global server is on it too.
            transport(
                "local_server of the info record",
                local,
                is_loopback_url(&server),
            )?;
            local.clone()
        }
        _ => {
            return Err(FetchError::Server {
                message: format!(
                    "the datastack record at {info_url} names no local_server (the materialization server); pass --local-server URL"
                ),
            });
        }
    };
    let v3 = join_url(&local, &format!("/materialize/api/v3/datastack/{ds}"));
    let v2 = join_url(&local, &format!("/materialize/api/v2/datastack/{ds}"));

    let versions = read_versions(client, &v2, &v3, progress).map_err(|e| match e {
        FetchError::Unreachable { url, reason } if config.local_server.is_none() => {
            FetchError::Unreachable {
                url,
                reason: format!(
                    "{reason}\nhint: the datastack record names {local} as the materialization server; to reach it another way (an SSH tunnel), pass --local-server URL"
                ),
            }
        }
        e => e,
    })?;
    let chosen = choose_version(&versions, config.version, &v3)?;
    let chosen_tables: BTreeSet<&str> = versions
        .iter()
        .find(|v| v.version == chosen)
        .map(|v| v.tables.iter().map(String::as_str).collect())
        .unwrap_or_default();

    let tables = read_tables(
        client,
        &v3,
        &versions,
        chosen,
        &chosen_tables,
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
        let url = format!("{v3}/table/{}/unique_string_values", segment(table));
        let values = parse_unique_values(&url, &client.get_json(&url)?)?;
        unique_values.insert((*table).clone(), values);
    }
    if !mapped.is_empty() {
        progress.finished(format!("unique values {0}/{0}", mapped.len()));
    }

    progress.working("types");
    let mut notes = Vec::new();
    let types_url = join_url(&server, "/schema/api/v2/types_all");
    let (types, types_source) = match client
        .get_json(&types_url)
        .and_then(|v| parse_types_all(&types_url, v))
    {
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
            let mut types = BTreeMap::new();
            for name in &wanted {
                check_type_name(&join_url(&server, "/schema/api/v2/type/"), name)?;
            }
            for (i, name) in wanted.iter().enumerate() {
                progress.working(format!("types {i}/{}", wanted.len()));
                let url = join_url(&server, &format!("/schema/api/v2/type/{}", segment(name)));
                types.insert(name.clone(), client.get_json(&url)?);
            }
            (types, join_url(&server, "/schema/api/v2/type/"))
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
        types,
        types_source,
        notes,
    })
}

/// The most materialization versions a fetch reads (each costs a request).
const MAX_VERSIONS: usize = 10_000;

/// Every version with its table list.
fn read_versions(
    client: &Client,
    v2: &str,
    v3: &str,
    progress: &mut Progress,
) -> Result<Vec<ServerVersion>, FetchError> {
    progress.working("versions");
    let url = format!("{v3}/metadata?expired=True");
    let mut versions = parse_versions(&url, &client.get_json(&url)?)?;
    if versions.len() > MAX_VERSIONS {
        return Err(FetchError::malformed(
            &url,
            format!(
                "{} versions listed, more than the {MAX_VERSIONS} a fetch reads (one request \
                 each)",
                versions.len()
            ),
        ));
    }
    if versions.is_empty() {
        return Err(FetchError::Server {
            message: format!("GET {url} lists no materialization versions"),
        });
    }
    let n = versions.len();
    for (i, version) in versions.iter_mut().enumerate() {
        progress.working(format!("versions {i}/{n}"));
        let url = format!("{v2}/version/{}/tables", version.version);
        version.tables = parse_table_list(&url, &client.get_json(&url)?)?;
    }
    progress.finished(format!("versions {n}/{n}"));
    Ok(versions)
}

/// `wanted`, when the server lists it, else the newest valid version.
fn choose_version(
    versions: &[ServerVersion],
    wanted: Option<u32>,
    v3: &str,
) -> Result<u32, FetchError> {
    let listed = || {
        let all: Vec<String> = versions.iter().map(|v| v.version.to_string()).collect();
        all.join(", ")
    };
    match wanted {
        Some(v) if versions.iter().any(|x| x.version == v) => Ok(v),
        Some(v) => Err(FetchError::Server {
            message: format!(
                "version {v} is not among the versions {v3}/metadata?expired=True lists: {}",
                listed()
            ),
        }),
        None => versions
            .iter()
            .rev()
            .find(|v| v.valid)
            .map(|v| v.version)
            .ok_or_else(|| FetchError::Server {
                message: format!(
                    "{v3}/metadata?expired=True lists no valid version (only {}); pass --version",
                    listed()
                ),
            }),
    }
}

/// Metadata of the chosen version's tables (one request), plus, one by one, tables that list
/// left out and tables of other versions the existing snapshot does not describe.
fn read_tables(
    client: &Client,
    v3: &str,
    versions: &[ServerVersion],
    chosen: u32,
    chosen_tables: &BTreeSet<&str>,
    existing: Option<&Snapshot>,
    progress: &mut Progress,
) -> Result<BTreeMap<String, ServerTable>, FetchError> {
    progress.working("tables metadata");
    let url = format!("{v3}/version/{chosen}/tables/metadata");
    let mut tables: BTreeMap<String, ServerTable> =
        parse_tables_metadata(&url, &client.get_json(&url)?)?
            .into_iter()
            .filter(|t| chosen_tables.contains(t.name.as_str()))
            .map(|t| (t.name.clone(), t))
            .collect();

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
                one_by_one.push((t.clone(), version.version));
            }
        }
    }
    for (i, (table, version)) in one_by_one.iter().enumerate() {
        progress.working(format!("tables metadata {i}/{}", one_by_one.len()));
        let url = format!("{v3}/version/{version}/table/{}/metadata", segment(table));
        let mut meta = parse_table_metadata(&url, &client.get_json(&url)?)?;
        meta.name = table.clone();
        tables.insert(table.clone(), meta);
    }
    progress.finished("tables metadata");
    Ok(tables)
}

/// The schema types the tables of every version need: from the fetched metadata, else from
/// the existing snapshot.
fn referenced_types(
    versions: &[ServerVersion],
    tables: &BTreeMap<String, ServerTable>,
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
