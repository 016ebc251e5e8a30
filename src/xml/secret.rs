//! secret XML (being written).
