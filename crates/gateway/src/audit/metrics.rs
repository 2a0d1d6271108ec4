//! The audit log's Prometheus metrics.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use cordon_audit_log::LogHealth;

use super::AuditTrail;

impl AuditTrail {
    /// Appends the audit log's metrics in the text exposition format:
    /// appends by result, requests let through unrecorded, the log's size,
    /// batches and syncs, the last batch's commit time, how long requests
    /// waited for their record to be durable, checkpoints, and health.
    pub fn render_metrics(&self, out: &mut String) {
        let stats = self.log.stats();
        let healthy = u8::from(matches!(self.log.health(), LogHealth::Ok));
        let c = &self.counters;
        let _ = writeln!(
            out,
            "# HELP cordon_audit_appends_total Records appended to the audit log, by result.\n# TYPE cordon_audit_appends_total counter\ncordon_audit_appends_total{{result=\"ok\"}} {}\ncordon_audit_appends_total{{result=\"failed\"}} {}",
            c.appended.load(Ordering::Relaxed),
            c.failed.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP cordon_audit_unrecorded_total Uncontrolled requests answered without a record because `on_failure = \"allow\"`.\n# TYPE cordon_audit_unrecorded_total counter\ncordon_audit_unrecorded_total {}",
            c.unrecorded.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP cordon_audit_log_entries Entries committed to the audit log.\n# TYPE cordon_audit_log_entries gauge\ncordon_audit_log_entries {}",
            stats.size
        );
        let _ = writeln!(
            out,
            "# HELP cordon_audit_batches_total Batches committed (one sync each) since start.\n# TYPE cordon_audit_batches_total counter\ncordon_audit_batches_total {}",
            stats.batches
        );
        let _ = writeln!(
            out,
            "# HELP cordon_audit_batch_failures_total Batches that failed to commit since start.\n# TYPE cordon_audit_batch_failures_total counter\ncordon_audit_batch_failures_total {}",
            stats.failures
        );
        let _ = writeln!(
            out,
            "# HELP cordon_audit_last_commit_seconds Time the last batch's write and sync took.\n# TYPE cordon_audit_last_commit_seconds gauge\ncordon_audit_last_commit_seconds {}",
            stats.last_commit_micros as f64 / 1e6
        );
        self.wait.render(
            out,
            "cordon_audit_durable_wait_seconds",
            "Time from queueing a record until its batch was synced (or failed).",
        );
        let _ = writeln!(
            out,
            "# HELP cordon_audit_checkpoints_total Checkpoints signed and stored since start, by result.\n# TYPE cordon_audit_checkpoints_total counter\ncordon_audit_checkpoints_total{{result=\"ok\"}} {}\ncordon_audit_checkpoints_total{{result=\"failed\"}} {}",
            stats.checkpoints, stats.checkpoint_failures
        );
        let _ = writeln!(
            out,
            "# HELP cordon_audit_healthy Whether the last audit log batch committed (1) or failed (0).\n# TYPE cordon_audit_healthy gauge\ncordon_audit_healthy {healthy}"
        );
    }
}
