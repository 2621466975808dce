//! Undo and redo by changes, not copies: each tool records the voxels it
//! changed as runs of consecutive voxels (start, length, old label, new
//! label), a few megabytes for a threshold of a whole spine where a copy
//! of the labelmap would be the volume's size again. A step that also
//! changed the segment table (a segment added, split off or removed) keeps
//! the table before and after: a few hundred bytes.

use crate::{Labelmap, SegmentTable};

/// Consecutive voxels that went from one label to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    start: u32,
    len: u32,
    old: u8,
    new: u8,
}

/// Voxels per call of [`Change::set_from`], and per equality test within one.
const SET_PART: usize = 1 << 20;
const SET_BLOCK: usize = 64;

/// What one tool did to a labelmap (and to the segment table).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    runs: Vec<Run>,
    /// The table before and after, when the step changed it.
    tables: Option<Box<[SegmentTable; 2]>>,
}

impl Change {
    /// Sets voxel `index` of `map` to `new`, recording what it was.
    pub(crate) fn set(&mut self, map: &mut Labelmap, index: usize, new: u8) {
        let labels = map.labels_mut();
        let old = labels[index];
        if old == new {
            return;
        }
        labels[index] = new;
        let index = index as u32;
        if let Some(last) = self.runs.last_mut()
            && last.start + last.len == index
            && last.old == old
            && last.new == new
        {
            last.len += 1;
            return;
        }
        self.runs.push(Run {
            start: index,
            len: 1,
            old,
            new,
        });
    }

    /// Sets `map`'s labels from `start` on to `new`, recording what
    /// changed: as [`Change::set`] on every voxel, but parts and blocks
    /// already equal are skipped with one compare, and each part is a call
    /// of its own (wasm has no on-stack replacement: a loop over a whole
    /// volume in a function called once would run in the browser's
    /// baseline code to its end).
    pub(crate) fn set_from(&mut self, map: &mut Labelmap, start: usize, new: &[u8]) {
        for (n, part) in new.chunks(SET_PART).enumerate() {
            self.set_part(map, start + n * SET_PART, part);
        }
    }

    /// Sets every label `l` of `map` to `by[l]`, recording what changed,
    /// a part per call (see [`Change::set_from`]).
    pub(crate) fn relabel_all(&mut self, map: &mut Labelmap, by: &[u8; 256]) {
        for start in (0..map.labels().len()).step_by(SET_PART) {
            self.relabel_part(map, start, by);
        }
    }

    #[inline(never)]
    fn relabel_part(&mut self, map: &mut Labelmap, start: usize, by: &[u8; 256]) {
        let end = (start + SET_PART).min(map.labels().len());
        for n in start..end {
            let label = map.labels()[n];
            if by[label as usize] != label {
                self.set(map, n, by[label as usize]);
            }
        }
    }

    #[inline(never)]
    fn set_part(&mut self, map: &mut Labelmap, start: usize, new: &[u8]) {
        if map.labels()[start..start + new.len()] == *new {
            return;
        }
        for (n, block) in new.chunks(SET_BLOCK).enumerate() {
            let at = start + n * SET_BLOCK;
            if map.labels()[at..at + block.len()] == *block {
                continue;
            }
            for (i, &label) in block.iter().enumerate() {
                self.set(map, at + i, label);
            }
        }
    }

    /// The same change, which also took the table from `before` to
    /// `after` (undo puts `before` back).
    pub fn with_tables(mut self, before: SegmentTable, after: SegmentTable) -> Self {
        if before != after {
            self.tables = Some(Box::new([before, after]));
        }
        self
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty() && self.tables.is_none()
    }

    /// Every label whose voxels this change touched (as it was or became).
    pub fn labels(&self) -> Vec<u8> {
        let mut seen = [false; 256];
        for run in &self.runs {
            seen[run.old as usize] = true;
            seen[run.new as usize] = true;
        }
        (1..=255u8).filter(|&l| seen[l as usize]).collect()
    }

    /// Each run as (first voxel index, voxels, label it left, label it
    /// took), in the direction it is replayed (`forward`, or undone).
    pub(crate) fn moves(&self, forward: bool) -> impl Iterator<Item = (usize, usize, u8, u8)> + '_ {
        self.runs.iter().map(move |run| {
            let (from, to) = if forward {
                (run.old, run.new)
            } else {
                (run.new, run.old)
            };
            (run.start as usize, run.len as usize, from, to)
        })
    }

    /// Appends `later` (a further dab of the same brush stroke), so the
    /// stroke undoes as one step.
    pub fn extend(&mut self, later: Change) {
        self.runs.extend(later.runs);
        if let Some(tables) = later.tables {
            match &mut self.tables {
                Some(mine) => mine[1] = tables[1].clone(),
                None => self.tables = Some(tables),
            }
        }
    }

    /// Voxels changed.
    pub fn voxels(&self) -> usize {
        self.runs.iter().map(|r| r.len as usize).sum()
    }

    /// Bytes this record takes.
    pub fn bytes(&self) -> usize {
        self.runs.len() * std::mem::size_of::<Run>()
            + self.tables.as_ref().map_or(0, |t| {
                (t[0].segments().len() + t[1].segments().len())
                    * std::mem::size_of::<crate::Segment>()
            })
    }

    /// Replays the change forwards, or backwards (last run first, so a
    /// voxel changed twice in one stroke ends as it began). The table goes
    /// to the other snapshot's segments, keeping the names, colours and
    /// visibility changed since (renames are not steps); the snapshot left
    /// behind takes them too, so replaying the step again keeps them.
    pub(crate) fn write(
        &mut self,
        map: &mut Labelmap,
        table: Option<&mut SegmentTable>,
        forward: bool,
    ) {
        let labels = map.labels_mut();
        let mut put = |run: &Run| {
            let value = if forward { run.new } else { run.old };
            labels[run.start as usize..(run.start + run.len) as usize].fill(value);
        };
        if forward {
            self.runs.iter().for_each(&mut put);
        } else {
            self.runs.iter().rev().for_each(&mut put);
        }
        if let (Some(table), Some(tables)) = (table, &mut self.tables) {
            let (from, to) = if forward { (0, 1) } else { (1, 0) };
            tables[from] = tables[from].with_attributes_of(table);
            *table = tables[to].with_attributes_of(table);
        }
    }
}

/// The steps that can be undone and redone.
#[derive(Debug, Clone, Default)]
pub struct History {
    undo: Vec<Change>,
    redo: Vec<Change>,
}

impl History {
    /// Steps kept at most.
    pub const MOST_STEPS: usize = 50;
    /// Bytes of changes kept at most (the oldest steps go first; the newest
    /// [`History::LEAST_STEPS`] stay whatever they cost).
    pub const MOST_BYTES: usize = 128 << 20;
    /// Steps always kept.
    pub const LEAST_STEPS: usize = 20;

    /// Records a step (nothing when it changed nothing); the redo list
    /// is forgotten, as in every editor.
    pub fn record(&mut self, change: Change) {
        if change.is_empty() {
            return;
        }
        self.redo.clear();
        self.undo.push(change);
        let mut bytes: usize = self.undo.iter().map(Change::bytes).sum();
        while self.undo.len() > Self::LEAST_STEPS
            && (self.undo.len() > Self::MOST_STEPS || bytes > Self::MOST_BYTES)
        {
            bytes -= self.undo.remove(0).bytes();
        }
    }

    /// Adds `change` to the last step (a brush stroke continuing), or
    /// records it as a new one when there is none.
    pub fn extend_last(&mut self, change: Change) {
        if change.is_empty() {
            return;
        }
        match self.undo.last_mut() {
            Some(last) => {
                self.redo.clear();
                last.extend(change);
            }
            None => self.record(change),
        }
    }

    /// Undoes the last step on the labelmap alone; false when there is none.
    pub fn undo(&mut self, map: &mut Labelmap) -> bool {
        self.undo_in(map, None).is_some()
    }

    /// Redoes the last undone step on the labelmap alone.
    pub fn redo(&mut self, map: &mut Labelmap) -> bool {
        self.redo_in(map, None).is_some()
    }

    /// Undoes the last step on the labelmap and the table; the step
    /// undone, or `None` when there is nothing to undo.
    pub fn undo_in(
        &mut self,
        map: &mut Labelmap,
        table: Option<&mut SegmentTable>,
    ) -> Option<&Change> {
        let mut change = self.undo.pop()?;
        change.write(map, table, false);
        self.redo.push(change);
        self.redo.last()
    }

    /// Redoes the last undone step on the labelmap and the table; the step
    /// redone.
    pub fn redo_in(
        &mut self,
        map: &mut Labelmap,
        table: Option<&mut SegmentTable>,
    ) -> Option<&Change> {
        let mut change = self.redo.pop()?;
        change.write(map, table, true);
        self.undo.push(change);
        self.undo.last()
    }

    /// Steps that can be undone.
    pub fn undo_steps(&self) -> usize {
        self.undo.len()
    }

    /// Steps that can be redone.
    pub fn redo_steps(&self) -> usize {
        self.redo.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_and_undo_restores_the_exact_labelmap() {
        let mut map = Labelmap::new([10, 10, 10]);
        let before = map.clone();
        let mut history = History::default();
        let mut change = Change::default();
        for n in 100..400 {
            change.set(&mut map, n, 3);
        }
        // Already 3: not recorded.
        change.set(&mut map, 150, 3);
        assert_eq!(change.runs.len(), 1, "one run of 300 voxels");
        assert_eq!(change.voxels(), 300);
        history.record(change);
        let after = map.clone();
        let mut second = Change::default();
        for n in (0..1000).step_by(7) {
            second.set(&mut map, n, 5);
        }
        history.record(second);
        assert!(history.undo(&mut map));
        assert_eq!(map, after);
        assert!(history.undo(&mut map));
        assert_eq!(map, before);
        assert!(!history.undo(&mut map));
        assert!(history.redo(&mut map) && history.redo(&mut map));
        assert_eq!(map.count(5), 143);
        assert!(!history.redo(&mut map));
    }

    #[test]
    fn setting_a_whole_map_records_what_setting_each_voxel_records() {
        // 128³: two parts of `SET_PART`; labels that differ in scattered
        // voxels, in runs across block and part borders, and not at all.
        let dims = [128, 128, 128];
        let mut start = Labelmap::new(dims);
        for n in (0..start.labels().len()).step_by(997) {
            start.labels_mut()[n] = 2;
        }
        let mut new = start.labels().to_vec();
        for n in (0..new.len()).step_by(4099) {
            new[n] = 7;
        }
        for label in &mut new[SET_PART - 100..SET_PART + 300] {
            *label = 4;
        }
        let (mut each, mut whole) = (start.clone(), start);
        let (mut by_voxel, mut at_once) = (Change::default(), Change::default());
        for (n, &label) in new.iter().enumerate() {
            by_voxel.set(&mut each, n, label);
        }
        at_once.set_from(&mut whole, 0, &new);
        assert_eq!(whole.labels(), &new[..]);
        assert_eq!(at_once, by_voxel);
        assert!(at_once.voxels() > 500);
    }

    #[test]
    fn relabelling_records_what_setting_each_voxel_records() {
        let mut start = Labelmap::new([128, 128, 80]);
        for n in 0..start.labels().len() {
            // Runs of seven: vertebrae, background and a label the map keeps.
            start.labels_mut()[n] = [0, 0, 20, 21, 0, 25][(n / 7) % 6];
        }
        let mut by: [u8; 256] = std::array::from_fn(|l| l as u8);
        (by[20], by[21]) = (21, 22);
        let (mut each, mut whole) = (start.clone(), start.clone());
        let (mut by_voxel, mut at_once) = (Change::default(), Change::default());
        for n in 0..start.labels().len() {
            let label = start.labels()[n];
            by_voxel.set(&mut each, n, by[label as usize]);
        }
        at_once.relabel_all(&mut whole, &by);
        assert_eq!(whole, each);
        assert_eq!(at_once, by_voxel);
        assert_eq!(whole.count(22), start.count(21));
        assert_eq!(whole.count(25), start.count(25), "not in the map: kept");
    }

    #[test]
    fn at_least_twenty_steps_and_never_unbounded() {
        let mut map = Labelmap::new([64, 64, 64]);
        let mut history = History::default();
        for step in 0..80u32 {
            let mut change = Change::default();
            change.set(&mut map, step as usize, 1 + (step % 200) as u8);
            history.record(change);
        }
        assert_eq!(history.undo_steps(), History::MOST_STEPS);
        for _ in 0..History::LEAST_STEPS {
            assert!(history.undo(&mut map));
        }
        // A new step forgets what could be redone.
        let mut change = Change::default();
        change.set(&mut map, 5000, 9);
        history.record(change);
        assert_eq!(history.redo_steps(), 0);
    }
}
