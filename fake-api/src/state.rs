//! The server's mutable state behind one mutex: recorded requests, fault counters, clocks.

use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Instant, SystemTime};

use crate::RecordedRequest;
use crate::api::{Clocks, Started, Target, View};
use crate::http::{Request, Response};
use crate::scenario::{FaultKind, Scenario};

/// What every connection task shares.
pub(crate) struct Shared {
    pub scenario: Scenario,
    pub start: Instant,
    /// The same moment by the local wall clock.
    pub start_wall: SystemTime,
    state: Mutex<State>,
    /// The encoded body of each [`FaultKind::Compressed`] fault, made on first use.
    encoded: Vec<OnceLock<Vec<u8>>>,
}

struct State {
    requests: Vec<RecordedRequest>,
    faults_left: Vec<usize>,
    clocks: Clocks,
}

impl Shared {
    pub fn new(scenario: Scenario, start: Instant, start_wall: SystemTime) -> Shared {
        let state = State {
            requests: Vec::new(),
            faults_left: scenario.faults.iter().map(|f| f.times).collect(),
            clocks: Clocks::new(&scenario),
        };
        let encoded = scenario.faults.iter().map(|_| OnceLock::new()).collect();
        Shared { scenario, start, start_wall, state: Mutex::new(state), encoded }
    }

    /// A panic elsewhere must not take the server down with a poisoned lock.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records an arriving request, starts the clock of the build it names, and
    /// consumes and returns the index of the fault to apply to it, if any.
    pub fn arrive(&self, req: &Request) -> Option<usize> {
        let now = Instant::now();
        let wall = SystemTime::now();
        let since_start = now.saturating_duration_since(self.start);
        let target = Target::of_path(&req.path);
        let mut state = self.lock();
        state.requests.push(RecordedRequest {
            path: req.path.clone(),
            query: req.query.clone(),
            authorization: req.header("authorization").map(str::to_string),
            at: since_start,
        });
        state.clocks.touch(&self.scenario, &target, since_start, Started { at: now, wall });
        let route = target.route();
        let index = self
            .scenario
            .faults
            .iter()
            .zip(&state.faults_left)
            .position(|(fault, left)| *left > 0 && fault.route.matches(route))?;
        state.faults_left[index] -= 1;
        Some(index)
    }

    /// The body of fault `index` encoded, if it is a [`FaultKind::Compressed`] (20 MiB take
    /// a second to compress in a debug build: once per fault, not once per answer).
    pub fn encoded_body(&self, index: usize) -> Option<&[u8]> {
        match &self.scenario.faults.get(index)?.kind {
            FaultKind::Compressed { encoding, body, .. } => {
                Some(self.encoded[index].get_or_init(|| encoding.encode(body)).as_slice())
            }
            _ => None,
        }
    }

    /// The normal answer to `req`, as of now.
    pub fn answer(&self, req: &Request) -> Response {
        let state = self.lock();
        View {
            scenario: &self.scenario,
            clocks: &state.clocks,
            start: self.start,
            start_wall: self.start_wall,
            now: Instant::now(),
        }
        .answer(req)
    }

    /// When the clock of the build `id` started (Pipecat builds first, then Prime builds).
    pub fn clock_started(&self, id: &str) -> Option<Instant> {
        let state = self.lock();
        let pipecat = self.scenario.pipecat_builds.iter().zip(&state.clocks.pipecat).map(|(b, c)| (b.id(), c));
        let prime = self.scenario.prime_builds.iter().zip(&state.clocks.prime).map(|(b, c)| (b.id(), c));
        pipecat.chain(prime).find_map(|(own, clock)| clock.filter(|_| own == id).map(|started| started.at))
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }
}
