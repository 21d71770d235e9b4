//! The shapes of a KV line (how many fields), and the release families that
//! print each.

use std::fmt;

use crate::field::Field;
use crate::release::Family;

/// The shape of a KV line: how many fields it has, which tells the family
/// of releases that printed it (up to the three families with eight fields,
/// which print the same fields).
///
/// ```
/// use nixl_kv_metrics::logs::Shape;
/// use nixl_kv_metrics::release::Family;
///
/// assert_eq!(Shape::Eight.fields().len(), 8);
/// assert_eq!(Shape::Eight.families().to_string(), "F2-F4");
/// assert!(Shape::Eight.families().contains(Family::F3));
/// assert_eq!(Shape::Eleven.families().to_string(), "F6");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Shape {
    /// 0.11.0: the one snake-case counter, `num_successful_transfers=N`.
    Counter,
    /// 0.11.1 – 0.30.x (families F2, F3, F4): eight fields.
    Eight,
    /// 0.31.x (F5): ten fields, with `Num failed transfers` and
    /// `Num KV expired reqs`.
    Ten,
    /// 0.32.0 and newer (F6): eleven fields, with `Num notifs after expiry`.
    Eleven,
}

impl Shape {
    /// Every shape, oldest first.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Shape;
    /// let fields: Vec<usize> = Shape::ALL.iter().map(|s| s.fields().len()).collect();
    /// assert_eq!(fields, [1, 8, 10, 11]);
    /// ```
    pub const ALL: [Shape; 4] = [Shape::Counter, Shape::Eight, Shape::Ten, Shape::Eleven];

    /// The families whose lines have this shape.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Shape;
    /// use nixl_kv_metrics::release::Family;
    /// let families: Vec<Family> = Shape::Eight.families().iter().collect();
    /// assert_eq!(families, [Family::F2, Family::F3, Family::F4]);
    /// ```
    pub fn families(self) -> Families {
        match self {
            Shape::Counter => Families::one(Family::F1),
            Shape::Eight => Families::range(Family::F2, Family::F4),
            Shape::Ten => Families::one(Family::F5),
            Shape::Eleven => Families::one(Family::F6),
        }
    }

    /// The fields of the line, in the order vLLM prints them.
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// use nixl_kv_metrics::logs::Shape;
    /// assert_eq!(Shape::Counter.fields(), [Field::NumSuccessfulTransfersCounter]);
    /// assert_eq!(Shape::Ten.fields()[9], Field::NumKvExpiredReqs);
    /// ```
    pub fn fields(self) -> &'static [Field] {
        self.families().first().fields()
    }
}

/// A contiguous range of release families, `F2-F4` or a single `F6`.
///
/// `Display` gives the stable labels the CLI prints: `F1`, `F2-F4`, `F4`,
/// `F5`, `F6`.
///
/// ```
/// use nixl_kv_metrics::logs::Families;
/// use nixl_kv_metrics::release::Family;
///
/// let eight = Families::range(Family::F2, Family::F4);
/// assert_eq!(eight.to_string(), "F2-F4");
/// assert_eq!(eight.releases(), "0.11.1 – 0.30.x");
/// assert_eq!(Families::one(Family::F5).releases(), "0.31.x");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Families {
    first: Family,
    last: Family,
}

impl Families {
    /// One family.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Families;
    /// use nixl_kv_metrics::release::Family;
    /// assert_eq!(Families::one(Family::F4).to_string(), "F4");
    /// ```
    pub const fn one(family: Family) -> Families {
        Families {
            first: family,
            last: family,
        }
    }

    /// The families from `first` to `last`, in release order (swapped if
    /// given the other way round).
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Families;
    /// use nixl_kv_metrics::release::Family;
    /// assert_eq!(Families::range(Family::F4, Family::F2), Families::range(Family::F2, Family::F4));
    /// ```
    pub fn range(first: Family, last: Family) -> Families {
        Families {
            first: first.min(last),
            last: first.max(last),
        }
    }

    /// The oldest family of the range.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Shape;
    /// use nixl_kv_metrics::release::Family;
    /// assert_eq!(Shape::Eight.families().first(), Family::F2);
    /// ```
    pub fn first(self) -> Family {
        self.first
    }

    /// The newest family of the range.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Shape;
    /// use nixl_kv_metrics::release::Family;
    /// assert_eq!(Shape::Eight.families().last(), Family::F4);
    /// ```
    pub fn last(self) -> Family {
        self.last
    }

    /// True when `family` is in the range.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Shape;
    /// use nixl_kv_metrics::release::Family;
    /// assert!(!Shape::Eight.families().contains(Family::F5));
    /// ```
    pub fn contains(self, family: Family) -> bool {
        (self.first..=self.last).contains(&family)
    }

    /// The families, oldest first.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Shape;
    /// assert_eq!(Shape::Eight.families().iter().count(), 3);
    /// ```
    pub fn iter(self) -> impl Iterator<Item = Family> {
        Family::ALL.into_iter().filter(move |&f| self.contains(f))
    }

    /// The vLLM releases of the range, in words (from [`Family::releases`]).
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Shape;
    /// assert_eq!(Shape::Counter.families().releases(), "0.11.0");
    /// assert_eq!(Shape::Eleven.families().releases(), "0.32.0 – 0.34.0 and newer");
    /// ```
    pub fn releases(self) -> String {
        self.first
            .releases()
            .through(self.last.releases())
            .to_string()
    }
}

impl fmt::Display for Families {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}
