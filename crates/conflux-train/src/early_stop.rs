//! Early stopping on the validation loss, keeping the best model (shared by the trainers).

/// Tracks the best validation loss seen so far and the model that had it.
#[derive(Debug)]
pub(crate) struct EarlyStopping<M> {
    patience: usize,
    since_best: usize,
    best: Option<(f64, M, usize)>,
}

impl<M> EarlyStopping<M> {
    /// `patience` epochs without improvement stop training (0: never).
    pub(crate) fn new(patience: usize) -> Self {
        EarlyStopping {
            patience,
            since_best: 0,
            best: None,
        }
    }

    /// Records epoch `epoch`'s validation loss and model; returns `true` when patience has
    /// run out.
    pub(crate) fn observe(&mut self, epoch: usize, loss: f64, model: M) -> bool {
        if self.best.as_ref().is_none_or(|(b, _, _)| loss < *b) {
            self.best = Some((loss, model, epoch));
            self.since_best = 0;
            false
        } else {
            self.since_best += 1;
            self.patience > 0 && self.since_best >= self.patience
        }
    }

    /// The best model and its epoch.
    ///
    /// # Panics
    /// When no epoch was observed (an internal invariant: trainers run at least one).
    pub(crate) fn best(self) -> (M, usize) {
        let (_, m, epoch) = self.best.expect("at least one epoch ran");
        (m, epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_best_and_stops_after_patience() {
        let mut s = EarlyStopping::new(2);
        assert!(!s.observe(1, 3.0, "a"));
        assert!(!s.observe(2, 2.0, "b"));
        assert!(!s.observe(3, 2.5, "c"));
        assert!(s.observe(4, 2.0, "d"), "ties are not improvements");
        assert_eq!(s.best(), ("b", 2));
        let mut never = EarlyStopping::new(0);
        for e in 1..50 {
            assert!(!never.observe(e, f64::from(u32::try_from(e).unwrap()), e));
        }
        assert_eq!(never.best(), (1, 1));
    }
}
