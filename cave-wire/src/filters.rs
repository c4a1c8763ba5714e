//! The filter families of a query body and their keys (docs/WIRE.md, "Query bodies").

/// A family of query filter, in the order of its key in a query body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FilterKind {
    /// `filter_in_dict`: value in a list.
    In,
    /// `filter_notin_dict`: value in none of a list (servers accept and ignore it; docs/WIRE.md).
    NotIn,
    /// `filter_equal_dict`.
    Equal,
    /// `filter_greater_dict`.
    Greater,
    /// `filter_less_dict`.
    Less,
    /// `filter_greater_equal_dict`.
    GreaterEqual,
    /// `filter_less_equal_dict`.
    LessEqual,
    /// `filter_spatial_dict`: a position inside a box.
    Spatial,
    /// `filter_regex_dict`: a PostgreSQL `~` pattern on a string column.
    Regex,
}

impl FilterKind {
    /// Every family, in body-key order.
    pub const ALL: [FilterKind; 9] = [
        FilterKind::In,
        FilterKind::NotIn,
        FilterKind::Equal,
        FilterKind::Greater,
        FilterKind::Less,
        FilterKind::GreaterEqual,
        FilterKind::LessEqual,
        FilterKind::Spatial,
        FilterKind::Regex,
    ];

    /// The body key, e.g. `filter_in_dict`.
    pub fn body_key(self) -> &'static str {
        match self {
            FilterKind::In => "filter_in_dict",
            FilterKind::NotIn => "filter_notin_dict",
            FilterKind::Equal => "filter_equal_dict",
            FilterKind::Greater => "filter_greater_dict",
            FilterKind::Less => "filter_less_dict",
            FilterKind::GreaterEqual => "filter_greater_equal_dict",
            FilterKind::LessEqual => "filter_less_equal_dict",
            FilterKind::Spatial => "filter_spatial_dict",
            FilterKind::Regex => "filter_regex_dict",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_body_order() {
        assert_eq!(
            FilterKind::ALL.map(FilterKind::body_key)[1],
            "filter_notin_dict"
        );
    }
}
