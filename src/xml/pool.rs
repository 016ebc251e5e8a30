//! pool XML (being written).
