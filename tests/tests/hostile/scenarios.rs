//! The scenarios: what the hostile server does (a behaviour per scenario), what the client runs
//! against it (workloads), and what must come out.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, StringArray};
use arrow_schema::{DataType, Field};
use serde_json::{Value, json};

use crate::bodies;
use crate::proxy::{Answer, Behaviour, Exchange, Reply, Route};

/// The token the client sends; real tokens are 32 hex digits.
pub const TOKEN: &str = "7f3a9c0e5b1d4f2a8c6e0b9d7a5f3e1c";

/// An absolute path a hostile type name points at (it must never be written).
pub const ABSOLUTE_TARGET: &str = "/tmp/cave-hostile-absolute-type";

/// What the client runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// `client.info()`.
    Info,
    /// A typed query of `proofreading_status_and_strategy` (1,865 rows, two pages).
    Typed,
    /// The same, `limit(1)`.
    TypedLimit1,
    /// The same table untyped (`TableQuery`), as record batches.
    Untyped,
    /// The typed query through `client.stream`.
    Stream,
    /// The typed query live, at a timestamp between versions.
    Live,
    /// `cave fetch` (the library call) into a copy of the committed snapshot.
    Fetch,
    /// `cave check` against the committed snapshot.
    Check,
    /// The chunkedgraph: roots of the proofreading rows' supervoxels at version 1300's
    /// timestamp (`roots_binary`: raw little-endian ids in and out).
    CgRoots,
    /// The chunkedgraph: `is_latest_roots` of the rows' roots now (JSON).
    CgIsLatest,
    /// The chunkedgraph: the lineage graph of a root edited since version 1300 (JSON).
    CgLineage,
    /// The typed rows of version 1300 brought to now (`update_roots`: `is_latest_roots`,
    /// then `roots_binary` of the stale rows' supervoxels).
    UpdateRoots,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Info => "info",
            Workload::Typed => "typed",
            Workload::TypedLimit1 => "typed-limit-1",
            Workload::Untyped => "untyped",
            Workload::Stream => "stream",
            Workload::Live => "live",
            Workload::Fetch => "fetch",
            Workload::Check => "check",
            Workload::CgRoots => "cg-roots",
            Workload::CgIsLatest => "cg-is-latest",
            Workload::CgLineage => "cg-lineage",
            Workload::UpdateRoots => "update-roots",
        }
    }

    /// Whether it calls the chunkedgraph (and needs the rows and times it works on).
    pub fn chunkedgraph(self) -> bool {
        matches!(
            self,
            Workload::CgRoots | Workload::CgIsLatest | Workload::CgLineage | Workload::UpdateRoots
        )
    }
}

/// What a workload must give.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// Exactly the rows (or files) the devserver gives without the hostile server.
    Exact,
    /// Success, whatever the rows (the hostile server changed them knowingly).
    Ok,
    /// An error whose text has every one of these pieces.
    Error(&'static [&'static str]),
    /// The exact rows, or an error with these pieces.
    ExactOrError(&'static [&'static str]),
}

/// How the client finds the materialization server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalServer {
    /// Told explicitly (as through an SSH tunnel): `local_server(<scenario base>)`.
    Explicit,
    /// From the info record's `local_server`.
    FromInfo,
}

pub struct Scenario {
    pub name: &'static str,
    /// The defect or behaviour it plays, for the table.
    pub what: &'static str,
    pub workloads: &'static [Workload],
    pub behaviour: Behaviour,
    pub expect: Expect,
    pub local: LocalServer,
    /// The longest a workload may take (seconds).
    pub max_secs: f64,
    /// The child process's peak memory allowed (MiB).
    pub max_peak_mib: u64,
}

const QUERIES: &[Workload] = &[
    Workload::Typed,
    Workload::Untyped,
    Workload::Stream,
    Workload::Live,
];
const TYPED_AND_STREAM: &[Workload] = &[Workload::Typed, Workload::Stream];
const FETCH: &[Workload] = &[Workload::Fetch, Workload::Check];
const CHUNKEDGRAPH: &[Workload] = &[
    Workload::CgRoots,
    Workload::CgIsLatest,
    Workload::CgLineage,
    Workload::UpdateRoots,
];
/// The chunkedgraph calls whose answer is raw ids (`update_roots` ends with one).
const CG_BINARY: &[Workload] = &[Workload::CgRoots, Workload::UpdateRoots];
/// The chunkedgraph calls whose answer is JSON.
const CG_JSON: &[Workload] = &[Workload::CgIsLatest, Workload::CgLineage];

/// The default bounds of a scenario.
const fn scenario(
    name: &'static str,
    what: &'static str,
    workloads: &'static [Workload],
    behaviour: Behaviour,
    expect: Expect,
) -> Scenario {
    Scenario {
        name,
        what,
        workloads,
        behaviour,
        expect,
        local: LocalServer::Explicit,
        max_secs: 10.0,
        max_peak_mib: 160,
    }
}

const fn from_info(mut s: Scenario) -> Scenario {
    s.local = LocalServer::FromInfo;
    s
}

const fn within(mut s: Scenario, secs: f64) -> Scenario {
    s.max_secs = secs;
    s
}

pub const SCENARIOS: &[Scenario] = &[
    scenario(
        "clean",
        "control: the devserver's answers unchanged",
        &[
            Workload::Info,
            Workload::Typed,
            Workload::TypedLimit1,
            Workload::Untyped,
            Workload::Stream,
            Workload::Live,
            Workload::Fetch,
            Workload::Check,
            Workload::CgRoots,
            Workload::CgIsLatest,
            Workload::CgLineage,
            Workload::UpdateRoots,
        ],
        pass,
        Expect::Exact,
    ),
    // 1. Names that are paths.
    scenario(
        "type-name-relative-path",
        "types_all names a type `../../escaped_relative`",
        FETCH,
        type_named_relative,
        Expect::Error(&["../../escaped_relative"]),
    ),
    scenario(
        "type-name-absolute-path",
        "types_all names a type by an absolute path",
        FETCH,
        type_named_absolute,
        Expect::Error(&[ABSOLUTE_TARGET]),
    ),
    // 2. Retry-After out of range.
    scenario(
        "retry-after-1e20",
        "every answer 503 with `Retry-After: 1e20`",
        &[Workload::Info, Workload::Typed],
        retry_after_1e20,
        Expect::Error(&["HTTP 503"]),
    ),
    scenario(
        "retry-after-2^64",
        "every answer 429 with `Retry-After: 18446744073709551616`",
        &[Workload::Info, Workload::Typed],
        retry_after_2_64,
        Expect::Error(&["HTTP 429"]),
    ),
    // 3. No body limit.
    within(
        scenario(
            "gzip-bomb-info",
            "the info record gzip'd: 10 MiB that decode to 10 GiB",
            &[Workload::Info],
            gzip_bomb_info,
            Expect::Error(&["limit"]),
        ),
        20.0,
    ),
    within(
        scenario(
            "gzip-bomb-query",
            "the query answer gzip'd: 10 MiB that decode to 10 GiB",
            &[Workload::Typed, Workload::Stream],
            gzip_bomb_query,
            Expect::Error(&["limit"]),
        ),
        20.0,
    ),
    scenario(
        "endless-gzip-info",
        "the info record an endless gzip stream of zeros",
        &[Workload::Info],
        endless_gzip_info,
        Expect::Error(&["limit"]),
    ),
    scenario(
        "endless-query-body",
        "the query answer an endless chunked body",
        TYPED_AND_STREAM,
        endless_query,
        Expect::Error(&["limit"]),
    ),
    scenario(
        "content-length-2^62",
        "the query answer declares 2^62 bytes",
        TYPED_AND_STREAM,
        huge_content_length,
        Expect::Error(&["limit"]),
    ),
    scenario(
        "fetch-gzip-bomb",
        "`fetch`: the info record gzip'd, 10 MiB that decode to 10 GiB",
        FETCH,
        gzip_bomb_info,
        Expect::Error(&["limit"]),
    ),
    // 4. The arrow-ipc fallback.
    scenario(
        "binary-column-bomb",
        "a Binary column whose ZSTD buffer declares and holds 10 GiB (335 KiB body)",
        &[Workload::TypedLimit1, Workload::Stream, Workload::Untyped],
        binary_bomb,
        Expect::Error(&["blob"]),
    ),
    scenario(
        "list-column-bomb",
        "a LargeList column whose ZSTD child buffer declares 10 GiB",
        &[Workload::TypedLimit1, Workload::Untyped],
        list_bomb,
        Expect::Error(&["blob"]),
    ),
    scenario(
        "string-column-bomb",
        "a LargeUtf8 value of 10 GiB from a 335 KiB ZSTD buffer",
        &[Workload::TypedLimit1, Workload::Untyped],
        string_bomb,
        Expect::Error(&["blob"]),
    ),
    // 6. Duplicate columns.
    scenario(
        "duplicate-column",
        "a bogus `pt_root_id` column (all 42) before the real one",
        QUERIES,
        duplicate_column,
        Expect::Error(&["pt_root_id"]),
    ),
    // 7. The token in text from the server.
    scenario(
        "token-in-bad-body",
        "200 with an HTML body that echoes the token",
        &[Workload::Typed, Workload::Untyped],
        token_in_bad_body,
        Expect::Error(&["Content-Type"]),
    ),
    scenario(
        "token-in-warning",
        "a warning that echoes the token",
        &[Workload::Typed, Workload::Stream, Workload::Untyped],
        token_in_warning,
        Expect::Exact,
    ),
    scenario(
        "token-in-error-body",
        "500 whose message echoes the token",
        &[Workload::Typed, Workload::Info],
        token_in_error_body,
        Expect::Error(&["HTTP 500"]),
    ),
    from_info(scenario(
        "token-in-local-server",
        "the info record's local_server has the token in its path; its answers are 500",
        &[Workload::Typed],
        token_in_local_server,
        Expect::Error(&["HTTP 500"]),
    )),
    scenario(
        "token-in-column-name",
        "a column renamed to hold the token and escape codes",
        TYPED_AND_STREAM,
        token_in_column_name,
        Expect::Error(&["status_axon"]),
    ),
    scenario(
        "fetch-token-in-error-body",
        "`fetch`: 500 whose message echoes the token",
        FETCH,
        token_in_error_body,
        Expect::Error(&["HTTP 500"]),
    ),
    // 8. Paging.
    scenario(
        "always-capped",
        "every page says it is capped",
        QUERIES,
        always_capped,
        Expect::ExactOrError(&["page"]),
    ),
    scenario(
        "ignores-offset",
        "offset is ignored: every page is the first (harmless: queries are split by id, not offset)",
        QUERIES,
        ignores_offset,
        Expect::Exact,
    ),
    scenario(
        "ignores-id-range",
        "the client's filters on `id` are ignored: every range's answer is the first page",
        QUERIES,
        ignores_id_range,
        Expect::Error(&["filter on `id`"]),
    ),
    scenario(
        "endless-pages",
        "every page capped, with new rows (ids moved on) each time",
        QUERIES,
        endless_pages,
        Expect::Error(&["page"]),
    ),
    scenario(
        "capped-empty-page",
        "after the first page, empty pages that say they are capped",
        QUERIES,
        capped_empty_page,
        Expect::Error(&["page"]),
    ),
    // 9. End-of-stream marker.
    scenario(
        "missing-end-of-stream",
        "every answer cut exactly after its first record batch",
        QUERIES,
        missing_eos,
        Expect::Error(&["end-of-stream"]),
    ),
    scenario(
        "cut-mid-body",
        "the connection closed half way through the body",
        TYPED_AND_STREAM,
        cut_mid_body,
        Expect::Error(&["cut short"]),
    ),
    // 10. Slow servers.
    within(
        scenario(
            "slow-headers",
            "headers at 2 bytes a second (timeout 4 s)",
            &[Workload::Typed, Workload::Info],
            slow_headers,
            Expect::Error(&["timed out"]),
        ),
        5.5,
    ),
    within(
        scenario(
            "slow-body",
            "the body at 32 bytes a second (timeout 4 s)",
            TYPED_AND_STREAM,
            slow_body,
            Expect::Error(&["timed out"]),
        ),
        5.5,
    ),
    within(
        scenario(
            "stall-after-headers",
            "headers, then silence (idle timeout 2 s, timeout 4 s, 3 retries)",
            TYPED_AND_STREAM,
            stall_after_headers,
            Expect::Error(&["timed out"]),
        ),
        5.5,
    ),
    within(
        scenario(
            "fetch-slow-body",
            "`fetch`: the body at 32 bytes a second (read timeout 2 s, timeout 4 s)",
            &[Workload::Fetch],
            slow_body_everywhere,
            Expect::Error(&["timed out"]),
        ),
        5.5,
    ),
    within(
        scenario(
            "fetch-slow-headers",
            "`fetch`: headers at 2 bytes a second (timeout 4 s)",
            &[Workload::Fetch],
            slow_headers,
            Expect::Error(&["timed out"]),
        ),
        5.5,
    ),
    // 11. Where the token goes.
    from_info(scenario(
        "redirect-info-elsewhere",
        "the info record redirects to another host, whose record names it as local_server",
        &[Workload::Info, Workload::Typed],
        redirect_info_elsewhere,
        Expect::Error(&["redirect"]),
    )),
    from_info(scenario(
        "redirect-info-same-server",
        "the info record redirects to another path on the same server",
        &[Workload::Info, Workload::Typed],
        redirect_info_same_server,
        Expect::Exact,
    )),
    from_info(scenario(
        "insecure-local-server",
        "the info record advertises an http:// local server elsewhere",
        &[Workload::Typed],
        insecure_local_server,
        Expect::Error(&["https"]),
    )),
    from_info(scenario(
        "fetch-insecure-local-server",
        "`fetch`: the info record advertises an http:// local server elsewhere",
        &[Workload::Fetch],
        insecure_local_server,
        Expect::Error(&["https"]),
    )),
    // 12. Smaller ones, and others.
    scenario(
        "escape-codes-in-error",
        "500 whose message holds terminal escape codes",
        &[Workload::Typed, Workload::Info, Workload::Fetch],
        escape_codes_in_error,
        Expect::Error(&["HTTP 500"]),
    ),
    scenario(
        "resolution-1e300",
        "dataframe_resolution `1e300, 4, 40` (beyond f32)",
        &[Workload::Typed],
        resolution_overflow,
        Expect::Error(&["dataframe_resolution"]),
    ),
    scenario(
        "junk-schema-types",
        "`fetch`: types_all with 10,000 junk types",
        FETCH,
        junk_types,
        Expect::Error(&["10057 types"]),
    ),
    scenario(
        "content-type-changes",
        "the second page comes as JSON",
        QUERIES,
        content_type_changes,
        Expect::Error(&["Content-Type"]),
    ),
    within(
        scenario(
            "wide-schema",
            "10,000 extra columns",
            TYPED_AND_STREAM,
            wide_schema,
            Expect::ExactOrError(&["columns"]),
        ),
        30.0,
    ),
    scenario(
        "unicode-names",
        "a column and a notice with non-ASCII and bidi characters",
        &[Workload::Typed, Workload::Stream, Workload::Untyped],
        unicode_names,
        Expect::Ok,
    ),
    scenario(
        "info-not-json",
        "the info record is an HTML page echoing the token",
        &[Workload::Info, Workload::Fetch],
        info_not_json,
        Expect::Error(&["JSON"]),
    ),
    // 13. The chunkedgraph (`/segmentation/...`): the same defects on its raw and JSON answers.
    within(
        scenario(
            "cg-gzip-bomb",
            "chunkedgraph answers gzip'd: 10 MiB that decode to 10 GiB",
            CHUNKEDGRAPH,
            cg_gzip_bomb,
            Expect::Error(&["limit"]),
        ),
        20.0,
    ),
    scenario(
        "cg-endless-body",
        "chunkedgraph answers an endless chunked body",
        CHUNKEDGRAPH,
        cg_endless,
        Expect::Error(&["limit"]),
    ),
    scenario(
        "cg-content-length-2^62",
        "chunkedgraph answers declare 2^62 bytes",
        CHUNKEDGRAPH,
        cg_huge_length,
        Expect::Error(&["limit"]),
    ),
    scenario(
        "cg-roots-cut",
        "roots_binary answers 5 bytes short (not a whole id)",
        CG_BINARY,
        cg_roots_cut,
        Expect::Error(&["roots_binary", "bytes, expected"]),
    ),
    scenario(
        "cg-roots-extra",
        "roots_binary answers one id more than asked",
        CG_BINARY,
        cg_roots_extra,
        Expect::Error(&["roots_binary"]),
    ),
    scenario(
        "cg-roots-beyond-i64",
        "roots_binary's first id is 2^64 - 1",
        CG_BINARY,
        cg_roots_huge_id,
        Expect::Error(&["roots_binary", "at [0]"]),
    ),
    scenario(
        "cg-latest-short",
        "is_latest_roots answers one value fewer than asked",
        &[Workload::CgIsLatest, Workload::UpdateRoots],
        cg_latest_short,
        Expect::Error(&["is_latest_roots", "ids asked"]),
    ),
    scenario(
        "cg-latest-not-bools",
        "is_latest_roots answers strings",
        &[Workload::CgIsLatest, Workload::UpdateRoots],
        cg_latest_not_bools,
        Expect::Error(&["is_latest_roots", "is_latest"]),
    ),
    scenario(
        "cg-lineage-dangling-edge",
        "the lineage graph has an edge to a root not among its nodes",
        &[Workload::CgLineage],
        cg_lineage_dangling,
        Expect::Error(&["lineage_graph_multiple", "is not among the nodes"]),
    ),
    scenario(
        "cg-ids-as-strings",
        "the lineage graph's ids as strings (PCG's int64_as_str)",
        &[Workload::CgLineage],
        cg_ids_as_strings,
        Expect::Exact,
    ),
    scenario(
        "cg-token-in-error-body",
        "500 in PCG's error shape, echoing the token and escape codes",
        CHUNKEDGRAPH,
        cg_token_in_error,
        Expect::Error(&["HTTP 500", "/segmentation/api/v1/table/minnie65_public/"]),
    ),
    scenario(
        "cg-html-echo",
        "200 with an HTML page echoing the token",
        CG_JSON,
        cg_html_echo,
        Expect::Error(&["expected JSON"]),
    ),
    scenario(
        "cg-public-refusal",
        "PCG's 401 of a public table for an id newer than its release",
        CHUNKEDGRAPH,
        cg_public_refusal,
        Expect::Error(&["HTTP 401", "public release"]),
    ),
    scenario(
        "cg-flaky-503",
        "every other chunkedgraph request 503 with `Retry-After: 0`",
        CHUNKEDGRAPH,
        cg_flaky,
        Expect::Exact,
    ),
    within(
        scenario(
            "cg-slow-body",
            "chunkedgraph answers at 32 bytes a second (timeout 4 s)",
            CHUNKEDGRAPH,
            cg_slow_body,
            Expect::Error(&["timed out"]),
        ),
        5.5,
    ),
    within(
        scenario(
            "cg-stall-after-headers",
            "chunkedgraph headers and 8 bytes, then silence",
            CHUNKEDGRAPH,
            cg_stall,
            Expect::Error(&["timed out"]),
        ),
        5.5,
    ),
    scenario(
        "cg-redirect-elsewhere",
        "chunkedgraph answers redirect to another host",
        CHUNKEDGRAPH,
        cg_redirect_elsewhere,
        Expect::Error(&["redirect"]),
    ),
    scenario(
        "cg-table-name-dotdot",
        "the segmentation_source's table is `..` (a path step)",
        CHUNKEDGRAPH,
        cg_table_dotdot,
        Expect::Error(&["/segmentation/api/v1/table/%2E%2E/"]),
    ),
    scenario(
        "cg-source-elsewhere",
        "the segmentation_source names another host (not used: the local server is)",
        CHUNKEDGRAPH,
        cg_source_elsewhere,
        Expect::Exact,
    ),
    scenario(
        "cg-not-graphene",
        "the segmentation_source is a precomputed:// volume",
        &[Workload::CgRoots],
        cg_not_graphene,
        Expect::Error(&["graphene://", "precomputed://"]),
    ),
];

pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

pub fn behaviour(name: &str) -> Option<Behaviour> {
    find(name).map(|s| s.behaviour)
}

// Behaviours.

fn pass(ex: &Exchange) -> Reply {
    Reply::Answer(ex.forward())
}

/// The devserver's answer, changed by `change` on one route only.
fn on(ex: &Exchange, route: Route, change: impl FnOnce(&Exchange, Answer) -> Reply) -> Reply {
    let answer = ex.forward();
    if ex.route == route && answer.status == 200 {
        change(ex, answer)
    } else {
        Reply::Answer(answer)
    }
}

fn is_types_all(ex: &Exchange) -> bool {
    ex.request.path.contains("/types_all")
}

fn with_type(ex: &Exchange, names: impl Fn(&Value) -> Vec<(String, Value)>) -> Reply {
    on(ex, Route::Schema, |ex, mut answer| {
        if !is_types_all(ex) {
            return Reply::Answer(answer);
        }
        let mut all: serde_json::Map<String, Value> = serde_json::from_slice(&answer.body).unwrap();
        let model = all.values().next().cloned().unwrap();
        for (name, doc) in names(&model) {
            all.insert(name, doc);
        }
        answer.body = Value::Object(all).to_string().into_bytes();
        Reply::Answer(answer)
    })
}

fn type_named_relative(ex: &Exchange) -> Reply {
    with_type(ex, |model| {
        vec![("../../escaped_relative".into(), model.clone())]
    })
}

fn type_named_absolute(ex: &Exchange) -> Reply {
    with_type(ex, |model| vec![(ABSOLUTE_TARGET.into(), model.clone())])
}

fn junk_types(ex: &Exchange) -> Reply {
    with_type(ex, |model| {
        (0..10_000)
            .map(|i| (format!("junk_{i}"), model.clone()))
            .collect()
    })
}

fn status(code: u16, retry_after: &str) -> Reply {
    let mut a = Answer::json(code, &json!({"code": code, "message": "busy"}));
    a.set_header("Retry-After", retry_after);
    Reply::Answer(a)
}

fn retry_after_1e20(_: &Exchange) -> Reply {
    status(503, "1e20")
}

fn retry_after_2_64(_: &Exchange) -> Reply {
    status(429, "18446744073709551616")
}

/// On `route`: a 10 MiB gzip'd body of `content_type` that decodes to 10 GiB.
fn bomb_on(ex: &Exchange, route: Route, content_type: &str) -> Reply {
    if ex.route != route {
        return pass(ex);
    }
    let mut a = Answer::new(200, content_type, bodies::gzip_bomb(10));
    a.set_header("Content-Encoding", "gzip");
    Reply::Answer(a)
}

/// On `route`: 1 MiB of `byte` again and again, chunked, or under a `Content-Length` of
/// `declared` bytes that is never reached.
fn endless_on(
    ex: &Exchange,
    route: Route,
    content_type: &str,
    byte: u8,
    declared: Option<u64>,
) -> Reply {
    if ex.route != route {
        return pass(ex);
    }
    Reply::Endless {
        head: Answer::new(200, content_type, Vec::new()),
        first: Vec::new(),
        chunk: vec![byte; 1 << 20],
        declared,
    }
}

/// On `route`: the devserver's answer `step` bytes at a time, `every` apart (the head at once).
fn trickle_on(ex: &Exchange, route: Route, step: usize, every: std::time::Duration) -> Reply {
    if ex.route != route {
        return pass(ex);
    }
    Reply::Trickle {
        answer: ex.forward(),
        step,
        every,
        head_too: false,
    }
}

fn gzip_bomb_info(ex: &Exchange) -> Reply {
    bomb_on(ex, Route::Info, "application/json")
}

fn gzip_bomb_query(ex: &Exchange) -> Reply {
    bomb_on(ex, Route::Query, "data.arrow")
}

fn endless_gzip_info(ex: &Exchange) -> Reply {
    if ex.route != Route::Info {
        return pass(ex);
    }
    let (head, piece) = bodies::gzip_parts();
    let mut answer = Answer::new(200, "application/json", Vec::new());
    answer.set_header("Content-Encoding", "gzip");
    Reply::Endless {
        head: answer,
        first: head,
        chunk: piece,
        declared: None,
    }
}

fn endless_query(ex: &Exchange) -> Reply {
    endless_on(ex, Route::Query, "data.arrow", 0xff, None)
}

fn huge_content_length(ex: &Exchange) -> Reply {
    endless_on(ex, Route::Query, "data.arrow", 0, Some(1 << 62))
}

fn arrow_answer(body: Vec<u8>) -> Reply {
    let mut a = Answer::new(200, "data.arrow", body);
    a.set_header("dataframe_resolution", "4.0, 4.0, 40.0");
    Reply::Answer(a)
}

fn binary_bomb(ex: &Exchange) -> Reply {
    if ex.route != Route::Query {
        return pass(ex);
    }
    arrow_answer(bodies::bomb_body(DataType::Binary, 10 << 30, 1))
}

fn list_bomb(ex: &Exchange) -> Reply {
    if ex.route != Route::Query {
        return pass(ex);
    }
    let item = Arc::new(Field::new("item", DataType::Int8, true));
    arrow_answer(bodies::bomb_body(
        DataType::LargeList(item),
        10 << 30,
        10 << 30,
    ))
}

fn string_bomb(ex: &Exchange) -> Reply {
    if ex.route != Route::Query {
        return pass(ex);
    }
    arrow_answer(bodies::bomb_body(DataType::LargeUtf8, 10 << 30, 10 << 30))
}

fn duplicate_column(ex: &Exchange) -> Reply {
    on(ex, Route::Query, |_, mut a| {
        a.body = bodies::with_column_first(&a.body, "pt_root_id", |n| {
            Arc::new(Int64Array::from(vec![42; n])) as ArrayRef
        });
        Reply::Answer(a)
    })
}

fn token_of(ex: &Exchange) -> String {
    ex.request.token().unwrap_or_else(|| TOKEN.to_string())
}

fn token_in_bad_body(ex: &Exchange) -> Reply {
    if ex.route != Route::Query {
        return pass(ex);
    }
    let body = format!(
        "<html><body>Session expired for token {} \u{1b}[2J\u{1b}]0;owned\u{7}</body></html>",
        token_of(ex)
    );
    Reply::Answer(Answer::new(200, "text/html", body))
}

fn token_in_warning(ex: &Exchange) -> Reply {
    on(ex, Route::Query, |ex, mut a| {
        a.add_header(
            "Warning",
            format!("299 - \"your token is {}\"", token_of(ex)),
        );
        Reply::Answer(a)
    })
}

fn token_in_error_body(ex: &Exchange) -> Reply {
    if !matches!(ex.route, Route::Query | Route::Info | Route::Meta) {
        return pass(ex);
    }
    let message = format!("no access for token {} here", token_of(ex));
    Reply::Answer(Answer::json(
        500,
        &json!({"code": 500, "message": message, "traceback": [token_of(ex)]}),
    ))
}

fn token_in_local_server(ex: &Exchange) -> Reply {
    if ex.route == Route::Info {
        return on(ex, Route::Info, |ex, mut a| {
            let mut info: Value = serde_json::from_slice(&a.body).unwrap();
            info["local_server"] = json!(format!("{}/t{}", ex.base, token_of(ex)));
            a.body = info.to_string().into_bytes();
            Reply::Answer(a)
        });
    }
    Reply::Answer(Answer::json(
        500,
        &json!({"code": 500, "message": "nothing here"}),
    ))
}

fn token_in_column_name(ex: &Exchange) -> Reply {
    on(ex, Route::Query, |ex, mut a| {
        let token = token_of(ex);
        a.body = bodies::with_columns(&a.body, |schema, batch| {
            let fields = schema
                .fields()
                .iter()
                .map(|f| {
                    if f.name() == "status_axon" {
                        Arc::new(
                            f.as_ref()
                                .clone()
                                .with_name(format!("status_axon_{token}\u{1b}[8m")),
                        )
                    } else {
                        f.clone()
                    }
                })
                .collect();
            (fields, batch.columns().to_vec())
        });
        Reply::Answer(a)
    })
}

const CAP_WARNING: &str = "201 - \"Limited query to 1000 rows";

fn always_capped(ex: &Exchange) -> Reply {
    on(ex, Route::Query, |_, mut a| {
        if !a
            .headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("warning") && v.contains("Limited query"))
        {
            a.add_header("Warning", CAP_WARNING);
        }
        Reply::Answer(a)
    })
}

fn without_offset(ex: &Exchange) -> Answer {
    let mut request = ex.request.clone();
    if let Ok(mut body) = serde_json::from_slice::<Value>(&request.body) {
        if let Some(o) = body.as_object_mut() {
            o.remove("offset");
        }
        request.body = body.to_string().into_bytes();
    }
    ex.forward_request(&request)
}

fn ignores_offset(ex: &Exchange) -> Reply {
    if ex.route != Route::Query {
        return pass(ex);
    }
    Reply::Answer(without_offset(ex))
}

/// The request without `id` in the comparison filters (the client's id ranges).
fn ignores_id_range(ex: &Exchange) -> Reply {
    if ex.route != Route::Query {
        return pass(ex);
    }
    let mut request = ex.request.clone();
    if let Ok(mut body) = serde_json::from_slice::<Value>(&request.body) {
        for key in ["filter_greater_equal_dict", "filter_less_dict"] {
            if let Some(tables) = body.get_mut(key).and_then(Value::as_object_mut) {
                for columns in tables.values_mut() {
                    if let Some(columns) = columns.as_object_mut() {
                        columns.remove("id");
                    }
                }
            }
        }
        request.body = body.to_string().into_bytes();
    }
    Reply::Answer(ex.forward_request(&request))
}

fn endless_pages(ex: &Exchange) -> Reply {
    if ex.route != Route::Query {
        return pass(ex);
    }
    let mut a = without_offset(ex);
    if a.status != 200 {
        return Reply::Answer(a);
    }
    let shift = ex.nth as i64 * 1_000_000;
    a.body = bodies::with_columns(&a.body, |schema, batch| {
        let columns = schema
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(f, c)| {
                if f.name() == "id" {
                    let ids = c.as_any().downcast_ref::<Int64Array>().unwrap();
                    Arc::new(Int64Array::from_iter_values(
                        ids.values().iter().map(|v| v + shift),
                    )) as ArrayRef
                } else {
                    c.clone()
                }
            })
            .collect();
        (schema.fields().iter().cloned().collect(), columns)
    });
    a.remove_header("Warning");
    a.add_header("Warning", CAP_WARNING);
    Reply::Answer(a)
}

fn capped_empty_page(ex: &Exchange) -> Reply {
    on(ex, Route::Query, |ex, mut a| {
        if ex.nth >= 2 {
            a.body = bodies::with_columns(&a.body, |schema, batch| {
                (
                    schema.fields().iter().cloned().collect(),
                    batch.slice(0, 0).columns().to_vec(),
                )
            });
            a.remove_header("Warning");
            a.add_header("Warning", CAP_WARNING);
        }
        Reply::Answer(a)
    })
}

fn missing_eos(ex: &Exchange) -> Reply {
    on(ex, Route::Query, |_, mut a| {
        a.body = bodies::first_batch_only(&bodies::rebatch(&a.body, 500));
        Reply::Answer(a)
    })
}

fn cut_mid_body(ex: &Exchange) -> Reply {
    on(ex, Route::Query, |_, a| {
        let mut head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n", a.body.len());
        for (n, v) in &a.headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&a.body[..a.body.len() / 2]);
        Reply::Raw(bytes)
    })
}

fn slow_headers(ex: &Exchange) -> Reply {
    Reply::Trickle {
        answer: ex.forward(),
        step: 1,
        every: std::time::Duration::from_millis(500),
        head_too: true,
    }
}

fn slow_body(ex: &Exchange) -> Reply {
    trickle_on(ex, Route::Query, 16, std::time::Duration::from_millis(500))
}

fn slow_body_everywhere(ex: &Exchange) -> Reply {
    Reply::Trickle {
        answer: ex.forward(),
        step: 16,
        every: std::time::Duration::from_millis(500),
        head_too: false,
    }
}

fn stall_after_headers(ex: &Exchange) -> Reply {
    if ex.route != Route::Query {
        return pass(ex);
    }
    Reply::Stall(Some(Answer::new(200, "data.arrow", Vec::new())))
}

fn redirect_info_elsewhere(ex: &Exchange) -> Reply {
    if ex.route != Route::Info {
        return pass(ex);
    }
    if ex.listener == "main" {
        let mut a = Answer::new(302, "text/plain", "moved");
        a.set_header("Location", format!("{}{}", ex.foreign, ex.request.path));
        return Reply::Answer(a);
    }
    // The other host serves the record to anyone (the redirect dropped the token), naming
    // itself as the materialization server.
    let mut request = ex.request.clone();
    request
        .headers
        .push(("Authorization".into(), format!("Bearer {TOKEN}")));
    let mut a = ex.forward_request(&request);
    let mut info: Value = serde_json::from_slice(&a.body).unwrap();
    info["local_server"] = json!(ex.foreign);
    a.body = info.to_string().into_bytes();
    Reply::Answer(a)
}

fn redirect_info_same_server(ex: &Exchange) -> Reply {
    if ex.route != Route::Info {
        return pass(ex);
    }
    if !ex.request.path.contains("moved=1") {
        let mut a = Answer::new(302, "text/plain", "moved");
        a.set_header(
            "Location",
            format!("{}{}?moved=1", ex.base, ex.request.path),
        );
        return Reply::Answer(a);
    }
    on(ex, Route::Info, |ex, mut a| {
        let mut info: Value = serde_json::from_slice(&a.body).unwrap();
        info["local_server"] = json!(ex.base);
        a.body = info.to_string().into_bytes();
        Reply::Answer(a)
    })
}

fn insecure_local_server(ex: &Exchange) -> Reply {
    on(ex, Route::Info, |_, mut a| {
        let mut info: Value = serde_json::from_slice(&a.body).unwrap();
        info["local_server"] = json!("http://minnie.cave.invalid");
        a.body = info.to_string().into_bytes();
        Reply::Answer(a)
    })
}

fn escape_codes_in_error(ex: &Exchange) -> Reply {
    if !matches!(ex.route, Route::Query | Route::Info) {
        return pass(ex);
    }
    Reply::Answer(Answer::json(
        500,
        &json!({"code": 500, "message": "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31mdisk full\u{202e}"}),
    ))
}

fn resolution_overflow(ex: &Exchange) -> Reply {
    on(ex, Route::Query, |_, mut a| {
        a.set_header("dataframe_resolution", "1e300, 4, 40");
        Reply::Answer(a)
    })
}

fn content_type_changes(ex: &Exchange) -> Reply {
    on(ex, Route::Query, |ex, mut a| {
        if ex.nth >= 2 {
            a.set_header("Content-Type", "application/json");
            a.body = b"[]".to_vec();
        }
        Reply::Answer(a)
    })
}

fn wide_schema(ex: &Exchange) -> Reply {
    on(ex, Route::Query, |_, mut a| {
        a.body = bodies::with_columns(&a.body, |schema, batch| {
            let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
            let mut columns = batch.columns().to_vec();
            let zeros: ArrayRef = Arc::new(Int64Array::from(vec![0; batch.num_rows()]));
            for i in 0..10_000 {
                fields.push(Arc::new(Field::new(
                    format!("extra_{i}"),
                    DataType::Int64,
                    true,
                )));
                columns.push(zeros.clone());
            }
            (fields, columns)
        });
        Reply::Answer(a)
    })
}

fn unicode_names(ex: &Exchange) -> Reply {
    on(ex, Route::Query, |_, mut a| {
        a.body = bodies::with_column_first(&a.body, "δ_ñame_日本_\u{202e}txt", |n| {
            Arc::new(StringArray::from(vec!["ünïcödé ✓"; n])) as ArrayRef
        });
        a.add_header(
            "Warning",
            "Table Owner Notice on proofreading_status_and_strategy: ünïcödé ✓ \u{202e}evil",
        );
        Reply::Answer(a)
    })
}

fn info_not_json(ex: &Exchange) -> Reply {
    if ex.route != Route::Info {
        return pass(ex);
    }
    Reply::Answer(Answer::new(
        200,
        "text/html",
        format!("<html>Welcome back, {} \u{1b}[2J</html>", token_of(ex)),
    ))
}

// The chunkedgraph's behaviours.

fn is_call(ex: &Exchange, call: &str) -> bool {
    ex.route == Route::Segmentation
        && ex
            .request
            .path
            .split('?')
            .next()
            .unwrap_or("")
            .ends_with(call)
}

fn cg_gzip_bomb(ex: &Exchange) -> Reply {
    bomb_on(ex, Route::Segmentation, "application/json")
}

fn cg_endless(ex: &Exchange) -> Reply {
    endless_on(ex, Route::Segmentation, "application/octet-stream", 0, None)
}

fn cg_huge_length(ex: &Exchange) -> Reply {
    endless_on(
        ex,
        Route::Segmentation,
        "application/octet-stream",
        b' ',
        Some(1 << 62),
    )
}

/// The answer to `call`, its body changed by `change`.
fn on_call(ex: &Exchange, call: &str, change: impl FnOnce(&mut Vec<u8>)) -> Reply {
    on(ex, Route::Segmentation, |ex, mut a| {
        if is_call(ex, call) {
            change(&mut a.body);
        }
        Reply::Answer(a)
    })
}

/// The JSON answer to `call`, changed by `change`.
fn on_json(ex: &Exchange, call: &str, change: impl FnOnce(&mut Value)) -> Reply {
    on_call(ex, call, |body| {
        let mut v: Value = serde_json::from_slice(body).unwrap();
        change(&mut v);
        *body = v.to_string().into_bytes();
    })
}

fn cg_roots_cut(ex: &Exchange) -> Reply {
    on_call(ex, "/roots_binary", |b| {
        b.truncate(b.len().saturating_sub(5))
    })
}

fn cg_roots_extra(ex: &Exchange) -> Reply {
    on_call(ex, "/roots_binary", |b| {
        b.extend_from_slice(&7u64.to_le_bytes())
    })
}

fn cg_roots_huge_id(ex: &Exchange) -> Reply {
    on_call(ex, "/roots_binary", |b| {
        b[..8].copy_from_slice(&u64::MAX.to_le_bytes())
    })
}

fn cg_latest_short(ex: &Exchange) -> Reply {
    on_json(ex, "/is_latest_roots", |v| {
        v["is_latest"].as_array_mut().unwrap().pop();
    })
}

fn cg_latest_not_bools(ex: &Exchange) -> Reply {
    on_json(ex, "/is_latest_roots", |v| {
        for b in v["is_latest"].as_array_mut().unwrap() {
            *b = json!(if b.as_bool() == Some(true) {
                "yes"
            } else {
                "no"
            });
        }
    })
}

/// The key of a node-link graph's edges (`links`, or `edges` in newer networkx).
fn edges_of(v: &mut Value) -> &mut Vec<Value> {
    let key = if v.get("links").is_some() {
        "links"
    } else {
        "edges"
    };
    v[key].as_array_mut().unwrap()
}

fn cg_lineage_dangling(ex: &Exchange) -> Reply {
    on_json(ex, "/lineage_graph_multiple", |v| {
        let first = v["nodes"][0]["id"].clone();
        edges_of(v).push(json!({"source": first, "target": 12345}));
    })
}

fn cg_ids_as_strings(ex: &Exchange) -> Reply {
    let text = |id: &mut Value| {
        if let Some(n) = id.as_i64() {
            *id = json!(n.to_string());
        }
    };
    on_json(ex, "/lineage_graph_multiple", |v| {
        for node in v["nodes"].as_array_mut().unwrap() {
            text(&mut node["id"]);
        }
        for edge in edges_of(v) {
            text(&mut edge["source"]);
            text(&mut edge["target"]);
        }
    })
}

/// PCG's error shape.
fn pcg_error(code: u16, message: &str) -> Reply {
    Reply::Answer(Answer::json(
        code,
        &json!({"timestamp": "2026-12-01 10:00:00.0", "duration": 0.01, "code": code,
                "message": format!("[{code}]: {message}")}),
    ))
}

fn cg_token_in_error(ex: &Exchange) -> Reply {
    if ex.route != Route::Segmentation {
        return pass(ex);
    }
    pcg_error(
        500,
        &format!(
            "bigtable said no to {} \u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}",
            token_of(ex)
        ),
    )
}

fn cg_html_echo(ex: &Exchange) -> Reply {
    if ex.route != Route::Segmentation {
        return pass(ex);
    }
    Reply::Answer(Answer::new(
        200,
        "text/html",
        format!("<html>Welcome back, {} \u{1b}[2J</html>", token_of(ex)),
    ))
}

fn cg_public_refusal(ex: &Exchange) -> Reply {
    if ex.route != Route::Segmentation {
        return pass(ex);
    }
    pcg_error(401, "root_id not valid at timestamp")
}

fn cg_flaky(ex: &Exchange) -> Reply {
    if ex.route == Route::Segmentation && ex.nth % 2 == 1 {
        return status(503, "0");
    }
    pass(ex)
}

fn cg_slow_body(ex: &Exchange) -> Reply {
    trickle_on(
        ex,
        Route::Segmentation,
        16,
        std::time::Duration::from_millis(500),
    )
}

/// The head and the first 8 bytes, then a minute of silence (the head's length is the
/// answer's, so that only the silence is wrong).
fn cg_stall(ex: &Exchange) -> Reply {
    trickle_on(
        ex,
        Route::Segmentation,
        8,
        std::time::Duration::from_secs(60),
    )
}

fn cg_redirect_elsewhere(ex: &Exchange) -> Reply {
    if ex.route != Route::Segmentation || ex.listener != "main" {
        return pass(ex);
    }
    let mut a = Answer::new(302, "text/plain", "moved");
    a.set_header("Location", format!("{}{}", ex.foreign, ex.request.path));
    Reply::Answer(a)
}

/// The info record with another `segmentation_source`.
fn with_source(ex: &Exchange, source: impl FnOnce(&Exchange) -> String) -> Reply {
    on(ex, Route::Info, |ex, mut a| {
        let mut info: Value = serde_json::from_slice(&a.body).unwrap();
        info["segmentation_source"] = json!(source(ex));
        a.body = info.to_string().into_bytes();
        Reply::Answer(a)
    })
}

fn cg_table_dotdot(ex: &Exchange) -> Reply {
    with_source(ex, |ex| {
        format!("graphene://{}/segmentation/table/..", ex.base)
    })
}

fn cg_source_elsewhere(ex: &Exchange) -> Reply {
    with_source(ex, |ex| {
        format!(
            "graphene://{}/segmentation/table/minnie65_public",
            ex.foreign
        )
    })
}

fn cg_not_graphene(ex: &Exchange) -> Reply {
    with_source(ex, |_| "precomputed://gs://bucket/ws".into())
}
