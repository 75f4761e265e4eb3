//! Benchmark (not a test): the simulation's cost on a 10,000-pod generated cluster: loading,
//! idle ticks, a forced full pass, and the pass after a pod is deleted. `PODS=N` changes the size.
//!
//! `cargo bench -p kai-sandbox --bench simulate`

use std::time::Instant;

use jiff::SignedDuration;
use kai_sandbox::resources::by_plural;
use kai_sandbox::sim::Simulator;
use kai_sandbox::store::Store;
use kai_sandbox::{Clock, Scenario};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pods = std::env::var("PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let t = Instant::now();
    let scenario = Scenario::generated(pods);
    let clock = Clock::manual("2026-01-01T00:00:00Z".parse()?);
    let mut store = Store::new(clock);
    let mut sim = Simulator::new(&scenario);
    sim.load(&mut store, &scenario)?;
    println!("load {pods} pods: {:?}", t.elapsed());

    let t = Instant::now();
    for _ in 0..10 {
        store.clock().advance(SignedDuration::from_millis(500));
        sim.reconcile(&mut store);
    }
    println!("10 idle ticks: {:?}", t.elapsed());

    let t = Instant::now();
    store.clock().advance(SignedDuration::from_secs(31));
    sim.reconcile(&mut store);
    println!("one forced full pass: {:?}", t.elapsed());

    let pods_rt = by_plural("", "pods").ok_or("pods are not served")?;
    let victim = store
        .list(pods_rt, None)
        .first()
        .cloned()
        .ok_or("the generated cluster has no pods")?;
    let ns = victim["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let name = victim["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let t = Instant::now();
    store.delete(pods_rt, &ns, &name)?;
    sim.reconcile(&mut store);
    println!("pass after deleting a pod: {:?}", t.elapsed());
    Ok(())
}
