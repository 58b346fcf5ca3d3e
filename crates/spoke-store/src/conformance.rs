pub async fn run_all(_s: &dyn crate::Store) {}
