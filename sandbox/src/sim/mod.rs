//! The simulation: controllers, scheduler and kubelet that make the served objects behave.

use crate::scenario::Scenario;
use crate::store::Store;

/// Plays the cluster's controllers, scheduler and kubelet over the store.
#[derive(Debug, Default)]
pub struct Simulator {}

impl Simulator {
    /// A simulator for the behaviours and settings of `scenario`.
    pub fn new(_scenario: &Scenario) -> Self {
        Self {}
    }

    /// Brings every object up to date with the store's clock, until nothing changes.
    pub fn reconcile(&mut self, _store: &mut Store) {}
}
