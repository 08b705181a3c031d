//! The trace an instance's spans belong to.
//!
//! An orchestration runs as many steps, on any worker, before and after restarts; its
//! activity attempts run on other tasks. With the `opentelemetry` feature every step
//! and attempt span of an instance joins one trace, whose id is derived from the id of
//! the instance tree's root (a sub-orchestration `parent:task` belongs to its root's
//! trace). Derived rather than stored, it costs no byte of the record and no read, and
//! every process computes the same one. The spans' common parent is a remote span of
//! that trace that no process emits: backends show the steps as the trace's top level.
//! An id that is purged and started again continues its trace.

use tracing::Span;

/// The trace id and the parent span id of the spans of the instance tree `instance`
/// belongs to (both nonzero, as W3C trace context requires).
pub fn trace_of(instance: &str) -> (u128, u64) {
    let root = instance.split_once(':').map_or(instance, |(root, _)| root);
    let high = fnv(b"durable trace", root);
    let low = fnv(b"durable trace low", root);
    let trace = (u128::from(high) << 64 | u128::from(low)).max(1);
    (trace, fnv(b"durable span", root).max(1))
}

/// FNV-1a of `domain` and `text`: stable across processes, machines and compilers.
fn fnv(domain: &[u8], text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in domain.iter().chain([&0]).chain(text.as_bytes()) {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Puts `span` in the trace of `instance`'s tree.
#[cfg(feature = "opentelemetry")]
pub(super) fn join(span: &Span, instance: &str) {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    if span.is_disabled() {
        return;
    }
    let (trace, parent) = trace_of(instance);
    let parent = SpanContext::new(
        TraceId::from(trace),
        SpanId::from(parent),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    // fails only when no OpenTelemetry layer is installed: then there is no trace
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent));
}

/// Without the `opentelemetry` feature there is no trace to join.
#[cfg(not(feature = "opentelemetry"))]
pub(super) fn join(_: &Span, _: &str) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_shares_one_trace_and_trees_differ() {
        assert_eq!(trace_of("order-7"), trace_of("order-7:3"));
        assert_eq!(trace_of("order-7"), trace_of("order-7:3:1"));
        assert_ne!(trace_of("order-7").0, trace_of("order-8").0);
        let (trace, span) = trace_of("");
        assert!(trace != 0 && span != 0);
    }
}
