//! A scan of the service: one runtime query, its record batches handed to DataFusion's
//! partitions.
//!
//! The runtime's pager splits a query past the row cap into ranges of `id` and keeps several of
//! them in flight ([`cave_runtime::ClientBuilder::pages_in_flight`]); its answers are exact
//! whatever order the server sends rows in. The scan runs that query on a task of its own and
//! hands each batch to whichever of its partitions asks first, through a queue of a few
//! batches: every row reaches exactly one partition, DataFusion works on the partitions in
//! parallel, and memory holds the pages in flight and the queue, not the table.

use std::sync::{Arc, Mutex};

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::SchemaRef;
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::error::SqlError;

/// Batches waiting for a partition, per partition.
const QUEUED_PER_PARTITION: usize = 2;

/// What a scan sends: the query, ready to run.
#[derive(Clone)]
pub enum Request {
    /// A table (or a joined reference table).
    Table(cave_runtime::TableQuery),
    /// A view.
    View(cave_runtime::ViewQuery),
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Table(q) => write!(f, "{q:?}"),
            Request::View(q) => write!(f, "{}", q.body()),
        }
    }
}

/// One scan: its query, the columns it hands on, its partitions' shared queue.
#[derive(Debug)]
pub struct Scan {
    client: cave_runtime::Client,
    request: Request,
    /// The table or view, for errors.
    name: String,
    /// The columns handed on (the projection), by the answer's names.
    schema: SchemaRef,
    partitions: usize,
    run: Mutex<Option<Run>>,
}

/// One run of the scan: its queue, and which partitions have taken their stream.
#[derive(Debug)]
struct Run {
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Result<RecordBatch, DataFusionError>>>>,
    taken: Vec<bool>,
}

impl Scan {
    /// A scan of `request` handing `schema`'s columns to `partitions` partitions.
    pub fn new(
        client: cave_runtime::Client,
        request: Request,
        name: String,
        schema: SchemaRef,
        partitions: usize,
    ) -> Arc<Self> {
        Arc::new(Scan {
            client,
            request,
            name,
            schema,
            partitions: partitions.max(1),
            run: Mutex::new(None),
        })
    }

    /// The partitions, for DataFusion's `StreamingTableExec`.
    pub fn partitions(self: &Arc<Self>) -> Vec<Arc<dyn PartitionStream>> {
        (0..self.partitions)
            .map(|index| {
                Arc::new(Partition {
                    scan: self.clone(),
                    index,
                }) as Arc<dyn PartitionStream>
            })
            .collect()
    }

    /// The queue of partition `index`: the current run's, or a new run's when this partition
    /// already took its stream from the current one (the plan is executed again).
    fn queue_for(
        self: &Arc<Self>,
        index: usize,
    ) -> Arc<tokio::sync::Mutex<mpsc::Receiver<Result<RecordBatch, DataFusionError>>>> {
        let mut run = self.run.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = match run.as_ref() {
            Some(r) => r.taken[index],
            None => true,
        };
        if fresh {
            *run = Some(self.start());
        }
        let r = run.as_mut().expect("a run was just made");
        r.taken[index] = true;
        r.queue.clone()
    }

    /// Start the query on a task of its own.
    fn start(self: &Arc<Self>) -> Run {
        let (tx, rx) = mpsc::channel(self.partitions * QUEUED_PER_PARTITION);
        let scan = self.clone();
        tokio::spawn(async move {
            if let Err(e) = scan.produce(&tx).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        Run {
            queue: Arc::new(tokio::sync::Mutex::new(rx)),
            taken: vec![false; self.partitions],
        }
    }

    /// Run the query, sending its batches until it ends or no partition is left to take them.
    async fn produce(
        &self,
        tx: &mpsc::Sender<Result<RecordBatch, DataFusionError>>,
    ) -> Result<(), DataFusionError> {
        let external = |e: cave_runtime::Error| DataFusionError::External(Box::new(e));
        let mut stream = match &self.request {
            Request::Table(q) => q.clone().stream(&self.client).await.map_err(external)?,
            Request::View(q) => q.clone().stream(&self.client).await.map_err(external)?,
        };
        while let Some(batch) = stream.next().await.map_err(external)? {
            let batch = conform(&self.name, &self.schema, &batch)
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
            if tx.send(Ok(batch)).await.is_err() {
                // Every partition is gone (a LIMIT was reached, or the query was dropped).
                return Ok(());
            }
        }
        Ok(())
    }
}

/// An answer's batch as the scan's columns: by name, in the scan's order, of the snapshot's
/// types. A column missing from the answer is an error naming it; a type that differs is cast
/// where every value converts (a view's integers may come as int64), else an error.
pub fn conform(
    name: &str,
    schema: &SchemaRef,
    batch: &RecordBatch,
) -> Result<RecordBatch, SqlError> {
    let answer = |problem: String| SqlError::Answer {
        table: name.to_string(),
        problem,
    };
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let Some(column) = batch.column_by_name(field.name()) else {
            let had: Vec<&str> = batch
                .schema_ref()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            return Err(answer(format!(
                "the answer has no column `{}` (it has {})",
                field.name(),
                had.join(", ")
            )));
        };
        if column.data_type() == field.data_type() {
            columns.push(column.clone());
        } else {
            let options = CastOptions {
                safe: false,
                ..CastOptions::default()
            };
            let cast = cast_with_options(column, field.data_type(), &options).map_err(|e| {
                answer(format!(
                    "column `{}` is {} in the answer, {} in the snapshot, and does not convert: {e}",
                    field.name(),
                    column.data_type(),
                    field.data_type()
                ))
            })?;
            columns.push(cast);
        }
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(schema.clone(), columns, &options)
        .map_err(|e| answer(format!("the answer's columns do not make a batch: {e}")))
}

/// One of a scan's partitions.
#[derive(Debug)]
struct Partition {
    scan: Arc<Scan>,
    index: usize,
}

impl PartitionStream for Partition {
    fn schema(&self) -> &SchemaRef {
        &self.scan.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let queue = self.scan.queue_for(self.index);
        let batches = futures::stream::unfold(queue, |queue| async move {
            let next = queue.lock().await.recv().await;
            next.map(|item| (item, queue))
        });
        Box::pin(RecordBatchStreamAdapter::new(
            self.scan.schema.clone(),
            batches.boxed(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    fn wanted() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("volume", DataType::Int32, true),
        ]))
    }

    fn answer(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    #[test]
    fn answers_are_taken_by_name_in_the_snapshots_order() {
        let got = conform(
            "t",
            &wanted(),
            &answer(vec![
                (
                    "extra",
                    Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
                ),
                ("volume", Arc::new(Int32Array::from(vec![5, 6]))),
                ("id", Arc::new(Int64Array::from(vec![1, 2]))),
            ]),
        )
        .unwrap();
        assert_eq!(got.schema(), wanted());
        assert_eq!(got.num_rows(), 2);
        // A view's int64 that fits is converted.
        let got = conform(
            "t",
            &wanted(),
            &answer(vec![
                ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
                ("volume", Arc::new(Int64Array::from(vec![7]))),
            ]),
        )
        .unwrap();
        assert_eq!(
            got.column(1).as_ref(),
            &Int32Array::from(vec![7]) as &dyn arrow_array::Array
        );
    }

    #[test]
    fn a_missing_column_or_a_value_that_does_not_convert_is_an_error() {
        let e = conform(
            "nucleus_detection_v0",
            &wanted(),
            &answer(vec![(
                "id",
                Arc::new(Int64Array::from(vec![1])) as ArrayRef,
            )]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("nucleus_detection_v0: ") && e.contains("no column `volume` (it has id)"),
            "{e}"
        );
        // Too big for int32: an error, not a null.
        let e = conform(
            "t",
            &wanted(),
            &answer(vec![
                ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
                ("volume", Arc::new(Int64Array::from(vec![1i64 << 40]))),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("column `volume` is Int64 in the answer, Int32 in the snapshot"),
            "{e}"
        );
        let e = conform(
            "t",
            &wanted(),
            &answer(vec![
                ("id", Arc::new(StringArray::from(vec!["x"])) as ArrayRef),
                ("volume", Arc::new(Int32Array::from(vec![1]))),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("column `id` is Utf8"), "{e}");
    }
}
