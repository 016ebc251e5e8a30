//! network XML (being written).
