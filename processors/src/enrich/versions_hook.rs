//! Temporary: replaced by `crate::versions` once it lands.
use crate::events::VersionRange;
pub fn is_fixed_by(_e: &str, _i: &str, _f: &str) -> Option<bool> {
    None
}
pub fn is_affected(_e: &str, _i: &str, _r: &[&VersionRange]) -> Option<bool> {
    None
}
