//! Placing a log window against what was printed: entries are known by fingerprints (so memory
//! does not follow line length), and a window is placed only on evidence, its content first.

use std::collections::VecDeque;

use crate::text::MAX_LINE_BYTES;

/// The API's largest `limit`, and how many printed entries are remembered.
pub const MAX_LIMIT: usize = 10_000;
/// An overlap shorter than this (unless all that was printed is) is no proof of where a window
/// belongs, however small the window.
const MIN_ANCHOR: usize = 8;

/// An entry's identity: two independent 64-bit hashes with per-run random seeds, and its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    a: u64,
    b: u64,
    len: usize,
}

/// Hashes entries with seeds of its own, so a log cannot be written to collide on purpose.
#[derive(Clone, Copy, Debug)]
pub struct Fingerprinter {
    seeds: (u64, u64),
}

impl Fingerprinter {
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        // Without randomness the seeds are fixed: alignment stays exact, only less robust.
        let _ = getrandom::fill(&mut bytes);
        let (a, b) = bytes.split_at(8);
        Fingerprinter::with_seeds(
            u64::from_le_bytes(a.try_into().expect("8")),
            u64::from_le_bytes(b.try_into().expect("8")),
        )
    }

    pub fn with_seeds(a: u64, b: u64) -> Self {
        Fingerprinter { seeds: (a | 1, b | 1) }
    }

    /// One pass over the bytes, two multiply-rotate lanes.
    pub fn of(&self, entry: &str) -> Fingerprint {
        const K1: u64 = 0x9e37_79b9_7f4a_7c15;
        const K2: u64 = 0xc2b2_ae3d_27d4_eb4f;
        let (mut a, mut b) = (self.seeds.0 ^ entry.len() as u64, self.seeds.1.rotate_left(17) ^ entry.len() as u64);
        let mut chunks = entry.as_bytes().chunks_exact(8);
        for c in &mut chunks {
            let word = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            a = (a.rotate_left(5) ^ word).wrapping_mul(K1);
            b = (b.rotate_left(23) ^ word).wrapping_mul(K2);
        }
        for &byte in chunks.remainder() {
            a = (a.rotate_left(5) ^ u64::from(byte)).wrapping_mul(K1);
            b = (b.rotate_left(23) ^ u64::from(byte)).wrapping_mul(K2);
        }
        let finish = |h: u64, k: u64| {
            let h = (h ^ (h >> 33)).wrapping_mul(k);
            h ^ (h >> 29)
        };
        Fingerprint { a: finish(a, K2), b: finish(b, K1), len: entry.len() }
    }
}

/// Which of the reading's promises a placement may have broken; one marker line says which.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    /// Lines before the new ones may be missing (or, rarely, shown twice).
    Missing,
    /// The log started over (the build was retried): its lines follow from the start.
    StartedOver,
    /// The last line shown was still being written: it follows again in full.
    LastLineChanged,
}

/// Where a window's new entries start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// `window[from..]` is new; a marker goes before it when the evidence is incomplete.
    /// `whole`: the window was found to be the whole log.
    From { from: usize, marker: Option<Marker>, whole: bool },
    /// The content does not tell, but a larger window may: read again with a larger limit.
    Grow,
}

/// What is known of one read's answer, beside its entries.
#[derive(Clone, Copy, Debug)]
pub struct Read {
    /// The `limit` asked for.
    pub asked: usize,
    /// Whether asking for more could show more: the answer was as long as asked, and a
    /// larger limit is allowed.
    pub can_grow: bool,
    /// The most entries the endpoint has been seen to answer with (it caps answers).
    pub cap: Option<usize>,
}

/// The printed end of the log: fingerprints of the last [`MAX_LIMIT`] entries, how many entries
/// the log held up to the last one printed (when known), and that entry's text, cut.
#[derive(Clone, Debug)]
pub struct Tail {
    marks: VecDeque<Fingerprint>,
    capacity: usize,
    seen: Option<usize>,
    last: Option<String>,
    hasher: Fingerprinter,
}

impl Default for Tail {
    fn default() -> Self {
        Tail::new(MAX_LIMIT, Fingerprinter::random())
    }
}

impl Tail {
    pub fn new(capacity: usize, hasher: Fingerprinter) -> Self {
        Tail { marks: VecDeque::new(), capacity: capacity.max(1), seen: Some(0), last: None, hasher }
    }

    pub fn fingerprints(&self, window: &[String]) -> Vec<Fingerprint> {
        window.iter().map(|e| self.hasher.of(e)).collect()
    }

    /// The lengths of the printed entries remembered, the newest first.
    pub fn lengths_newest_first(&self) -> impl Iterator<Item = usize> + '_ {
        self.marks.iter().rev().map(|m| m.len)
    }

    /// How many printed entries are remembered.
    pub fn len(&self) -> usize {
        self.marks.len()
    }

    /// Whether nothing was printed yet.
    pub fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }

    /// Places `window` (with its `marks`), read as `read` says.
    pub fn place(&self, window: &[String], marks: &[Fingerprint], read: Read) -> Placement {
        let w = marks.len();
        if w == 0 {
            // A log does not shrink to nothing: it started over (and the lines since the last
            // read, if any, are gone).
            let marker = (!self.marks.is_empty()).then_some(Marker::StartedOver);
            return Placement::From { from: 0, marker, whole: true };
        }
        let anchors = Anchors::find(&self.marks, marks);
        // A window other than asked for may be the whole log: it is, when what was printed
        // sits exactly where the count says it must.
        if w != read.asked
            && let Some(seen) = self.seen
            && seen <= w
            && (seen == 0 || anchors.contains(seen))
        {
            return Placement::From { from: seen, marker: None, whole: true };
        }
        // One place only, and an overlap long enough to be no coincidence: a quarter of the
        // window, and at least a few entries (a blank line after a burst is no proof).
        let confident = |j: usize, count: usize| {
            let k = j.min(self.marks.len());
            count == 1 && k * 4 >= w && k >= MIN_ANCHOR.min(self.marks.len())
        };
        if let Some(best) = anchors.best()
            && confident(best, anchors.count)
        {
            return Placement::From { from: best, marker: None, whole: false };
        }
        if let Some(from) = self.grown_last_line(window, marks, read) {
            return Placement::From { from, marker: Some(Marker::LastLineChanged), whole: false };
        }
        if read.can_grow {
            return Placement::Grow;
        }
        if let Some(best) = anchors.best() {
            return Placement::From { from: best, marker: Some(Marker::Missing), whole: false };
        }
        // Shorter than what was printed and than the endpoint's cap, and nowhere in it: a new log.
        let short = w < read.asked && read.cap.is_none_or(|cap| w < cap);
        let shrank = self.seen.is_some_and(|seen| w < seen);
        let marker = if short && shrank { Marker::StartedOver } else { Marker::Missing };
        Placement::From { from: 0, marker: Some(marker), whole: false }
    }

    /// Where the window goes on when its entry at that place is the last printed entry grown
    /// longer (a line still being written when it was read), preceded by the entries printed
    /// before it.
    fn grown_last_line(&self, window: &[String], marks: &[Fingerprint], read: Read) -> Option<usize> {
        let last = self.last.as_deref().filter(|l| !l.is_empty())?;
        let grew = |j: usize| window.get(j).is_some_and(|e| e.len() > last.len() && e.starts_with(last));
        let before: VecDeque<Fingerprint> =
            self.marks.iter().take(self.marks.len().saturating_sub(1)).copied().collect();
        let anchors = Anchors::find(&before, marks);
        // Latest place first; 0 (nothing before the grown line) fits always, and last.
        let mut fits = anchors.all().chain(std::iter::once(0)).filter(|j| grew(*j));
        let best = fits.next()?;
        let unique = fits.next().is_none();
        let seen_fits = marks.len() != read.asked && self.seen.is_some_and(|s| s >= 1 && s - 1 == best);
        (seen_fits || (unique && ((best + 1) * 4 >= marks.len() || !read.can_grow))).then_some(best)
    }

    /// Records `window[from..]` as printed after `marker`. The remembered entries stay one
    /// unbroken stretch of the log: after a possible gap they start over from the window,
    /// itself unbroken. The count of entries seen stays known but across such a gap.
    pub fn commit(&mut self, window: &[String], marks: &[Fingerprint], from: usize, marker: Option<Marker>) {
        let mut kept_from = from;
        match marker {
            Some(Marker::StartedOver) => {
                self.marks.clear();
                self.seen = Some(0);
            }
            Some(Marker::LastLineChanged) => {
                self.marks.pop_back();
                self.seen = self.seen.map(|s| s.saturating_sub(1));
            }
            Some(Marker::Missing) => {
                self.marks.clear();
                self.seen = None;
                kept_from = 0;
            }
            None => {}
        }
        for mark in &marks[kept_from..] {
            if self.marks.len() == self.capacity {
                self.marks.pop_front();
            }
            self.marks.push_back(*mark);
        }
        self.seen = self.seen.map(|s| s + marks.len() - from);
        if let Some(entry) = window[from..].last() {
            self.last = Some(crate::text::cut(entry, MAX_LINE_BYTES).into_owned());
        }
    }
}

/// The places `j` in a window where the entries before `j` equal the last `min(j, T)` printed
/// ones: for `j ≤ T` an overlap of the printed tail with the window's start, beyond that a
/// whole occurrence of the tail. Found with the Z-function over both reversed, in linear time.
struct Anchors {
    /// `fits[j - 1]`: whether `j` is a place.
    fits: Vec<bool>,
    count: usize,
}

impl Anchors {
    fn find(tail: &VecDeque<Fingerprint>, window: &[Fingerprint]) -> Anchors {
        let (t, w) = (tail.len(), window.len());
        if t == 0 || w == 0 {
            return Anchors { fits: vec![false; w], count: 0 };
        }
        // s = reversed tail, then the reversed window; no separator is needed because matches
        // are capped at the tail's length below.
        let s: Vec<Fingerprint> = tail.iter().rev().chain(window.iter().rev()).copied().collect();
        let z = z_function(&s);
        let mut fits = vec![false; w];
        let mut count = 0;
        for (j, fit) in fits.iter_mut().enumerate().map(|(i, f)| (i + 1, f)) {
            // The window read backwards from entry j - 1 starts at index t + (w - j) of s.
            let need = j.min(t);
            if z[t + w - j].min(t) >= need {
                *fit = true;
                count += 1;
            }
        }
        Anchors { fits, count }
    }

    fn contains(&self, j: usize) -> bool {
        j >= 1 && self.fits.get(j - 1).copied().unwrap_or(false)
    }

    /// The latest place: the longest overlap, the fewest entries taken as new.
    fn best(&self) -> Option<usize> {
        self.fits.iter().rposition(|f| *f).map(|i| i + 1)
    }

    fn all(&self) -> impl Iterator<Item = usize> + '_ {
        self.fits.iter().enumerate().filter(|(_, f)| **f).map(|(i, _)| i + 1).rev()
    }
}

/// Whether `part` occurs whole and in order somewhere in `window`, in linear time.
pub fn contains(window: &[Fingerprint], part: &[Fingerprint]) -> bool {
    if part.is_empty() {
        return true;
    }
    let s: Vec<Fingerprint> = part.iter().chain(window).copied().collect();
    let z = z_function(&s);
    (part.len()..s.len()).any(|i| z[i] >= part.len())
}

/// `z[i]`: the length of the longest common prefix of `s` and `s[i..]` (`z[0] = len`).
fn z_function<T: PartialEq>(s: &[T]) -> Vec<usize> {
    let len = s.len();
    let mut z = vec![0; len];
    if len == 0 {
        return z;
    }
    z[0] = len;
    // The match reaching furthest right so far: `s[box_start..box_end]` equals a prefix of `s`.
    let (mut box_start, mut box_end) = (0, 0);
    for i in 1..len {
        if i < box_end {
            z[i] = (box_end - i).min(z[i - box_start]);
        }
        while i + z[i] < len && s[z[i]] == s[i + z[i]] {
            z[i] += 1;
        }
        if i + z[i] > box_end {
            box_start = i;
            box_end = i + z[i];
        }
    }
    z
}
