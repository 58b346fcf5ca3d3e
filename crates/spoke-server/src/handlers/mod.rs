pub mod objects;
pub mod properties;
