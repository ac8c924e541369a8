//! `SqlState::from_code`: codes read back from the wire.

use proptest::prelude::*;

use crate::pg::SqlState;

proptest! {
    #[test]
    fn five_digits_or_capitals_are_accepted(code in "[0-9A-Z]{5}") {
        let state = SqlState::from_code(&code);
        prop_assert_eq!(state.as_ref().map(SqlState::code), Some(code.as_str()));
        prop_assert_eq!(state.as_ref().map(SqlState::class), Some(&code[..2]));
    }

    #[test]
    fn anything_else_is_refused(
        code in "[0-9A-Z]{0,4}|[0-9A-Z]{6,8}|[0-9A-Z]{0,4}[^0-9A-Z][0-9A-Z]{0,4}",
    ) {
        prop_assert_eq!(SqlState::from_code(&code), None);
    }
}

#[test]
fn from_code_examples() {
    assert_eq!(SqlState::from_code("42P01"), Some(SqlState::UNDEFINED_TABLE));
    for code in ["42p01", "4201", "42P011", "", "4\u{e9}01", "42P0\0"] {
        assert_eq!(SqlState::from_code(code), None, "{code:?}");
    }
}
