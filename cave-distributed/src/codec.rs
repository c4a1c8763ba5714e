//! How an export table and the WKB function travel between the client, the scheduler and the
//! executors: Ballista's own codecs, plus
//! - an [`ExportTable`] over Parquet listings, sent as its name and, per export, the folder's
//!   URL, the partition column and the files' schema (the scheduler rebuilds the listings and
//!   picks the export per query, as a single process does);
//! - `cave_wkb_axis`, found by name.

use std::sync::Arc;

use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use cave_sql::datafusion;
use cave_sql::delta::{ExportTable, Spec, wkb};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, Result, TableReference};
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan, ScalarUDF};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use prost::Message;
use serde::{Deserialize, Serialize};

/// The marker that starts an encoded export table (anything else goes to Ballista's codec).
const MAGIC: &[u8] = b"cave-export-table/1\n";

#[derive(Serialize, Deserialize)]
struct EncodedSpec {
    name: String,
    url: String,
    partition: Option<String>,
    /// The files' schema, as DataFusion's protobuf.
    file_schema: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct EncodedTable {
    name: String,
    specs: Vec<EncodedSpec>,
}

fn internal(what: &str, e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Internal(format!("cave-distributed codec: {what}: {e}"))
}

/// A Parquet listing of one export's folder, partitioned by `partition` (int32).
pub fn listing(url: &str, partition: Option<&str>, file_schema: SchemaRef) -> Result<ListingTable> {
    let mut options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    if let Some(p) = partition {
        options = options.with_table_partition_cols(vec![(p.to_string(), DataType::Int32)]);
    }
    let config = ListingTableConfig::new(ListingTableUrl::parse(url)?)
        .with_listing_options(options)
        .with_schema(file_schema);
    ListingTable::try_new(config)
}

fn encode_table(table: &ExportTable) -> Result<Vec<u8>> {
    let mut specs = Vec::new();
    for spec in table.specs() {
        let listing = spec
            .provider()
            .downcast_ref::<ListingTable>()
            .ok_or_else(|| {
                DataFusionError::Plan(format!(
                    "the export `{}` of `{}` is not read through a Parquet listing: open exports \
                     for a cluster with cave_distributed::open_exports",
                    spec.name,
                    table.name()
                ))
            })?;
        let partition = listing
            .options()
            .table_partition_cols
            .first()
            .map(|(p, _)| p.clone());
        let file_fields: Vec<_> = listing
            .schema()
            .fields()
            .iter()
            .filter(|f| Some(f.name()) != partition.as_ref())
            .cloned()
            .collect();
        let proto = datafusion_proto::protobuf::Schema::try_from(&Schema::new(file_fields))
            .map_err(|e| internal("a schema", e))?;
        specs.push(EncodedSpec {
            name: spec.name.clone(),
            url: listing.table_paths()[0].as_str().to_string(),
            partition,
            file_schema: proto.encode_to_vec(),
        });
    }
    let mut out = MAGIC.to_vec();
    serde_json::to_writer(
        &mut out,
        &EncodedTable {
            name: table.name().to_string(),
            specs,
        },
    )
    .map_err(|e| internal("writing", e))?;
    Ok(out)
}

/// The export table of the bytes `encode_table` writes.
pub fn decode_table(buf: &[u8]) -> Result<ExportTable> {
    let json = buf
        .strip_prefix(MAGIC)
        .ok_or_else(|| internal("reading", "not an export table"))?;
    let table: EncodedTable = serde_json::from_slice(json).map_err(|e| internal("reading", e))?;
    let mut specs = Vec::new();
    for s in table.specs {
        let proto = datafusion_proto::protobuf::Schema::decode(s.file_schema.as_slice())
            .map_err(|e| internal("a schema", e))?;
        let schema = Schema::try_from(&proto).map_err(|e| internal("a schema", e))?;
        let provider = listing(&s.url, s.partition.as_deref(), Arc::new(schema))?;
        specs.push(Spec::new(s.name, Arc::new(provider)));
    }
    ExportTable::new(&table.name, specs).map_err(|e| DataFusionError::Plan(e.to_string()))
}

/// `cave_wkb_axis` by its name (it needs no bytes), else what `inner` decodes.
fn decode_udf(
    name: &str,
    inner: impl FnOnce() -> Result<Arc<ScalarUDF>>,
) -> Result<Arc<ScalarUDF>> {
    if name == wkb::FUNCTION {
        Ok(Arc::new(wkb::udf()))
    } else {
        inner()
    }
}

/// Nothing for `cave_wkb_axis` (its name is enough), else what `inner` encodes.
fn encode_udf(node: &ScalarUDF, inner: impl FnOnce() -> Result<()>) -> Result<()> {
    if node.name() == wkb::FUNCTION {
        Ok(())
    } else {
        inner()
    }
}

/// Ballista's logical codec, with export tables and the WKB function.
#[derive(Debug, Default)]
pub struct LogicalCodec {
    inner: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for LogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }
    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }
    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        if buf.starts_with(MAGIC) {
            return Ok(Arc::new(decode_table(buf)?));
        }
        self.inner
            .try_decode_table_provider(buf, table_ref, schema, ctx)
    }
    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if let Some(table) = node.downcast_ref::<ExportTable>() {
            buf.extend(encode_table(table)?);
            return Ok(());
        }
        self.inner.try_encode_table_provider(table_ref, node, buf)
    }
    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }
    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }
    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        decode_udf(name, || self.inner.try_decode_udf(name, buf))
    }
    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        encode_udf(node, || self.inner.try_encode_udf(node, buf))
    }
}

/// Ballista's physical codec, with the WKB function.
#[derive(Debug, Default)]
pub struct PhysicalCodec {
    inner: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for PhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner.try_decode(buf, inputs, ctx, converter)
    }
    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        self.inner.try_encode(node, buf, converter)
    }
    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        decode_udf(name, || self.inner.try_decode_udf(name, buf))
    }
    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        encode_udf(node, || self.inner.try_encode_udf(node, buf))
    }
}
