//! Measurement requests: a shape drawn on a 2D view measured on the volume
//! (`insitu_measure`), removed, exported; the list kept with the volume in
//! the cache (numbers and kinds only).

use super::{Worker, fail, post};
use crate::envelope::Attachments;
use crate::protocol::{ExportFile, MeasurementsFormat, Reply, Task};

/// Posts the list.
pub fn post_list(worker: &Worker) {
    let items = worker.study.borrow().measurements().items().to_vec();
    post(&Reply::Measurements { items }, Attachments::default());
}

/// Measures and adds a shape.
pub fn add(worker: &Worker, shape: insitu_measure::Shape) {
    let added = worker.study.borrow_mut().measure(shape);
    match added {
        Ok(()) => {
            post_list(worker);
            worker.keep_segments_later();
        }
        Err(e) => fail(Task::Measuring, e),
    }
}

/// Removes one.
pub fn remove(worker: &Worker, id: u32) {
    worker.study.borrow_mut().unmeasure(id);
    post_list(worker);
    worker.keep_segments_later();
}

/// The list as a CSV or JSON file.
pub fn export(worker: &Worker, format: MeasurementsFormat) {
    let text = {
        let study = worker.study.borrow();
        match format {
            MeasurementsFormat::Csv => study.measurements().to_csv(),
            MeasurementsFormat::Json => study.measurements().to_json(),
        }
    };
    super::post_export_bytes(ExportFile::Measurements(format), text.as_bytes());
}
