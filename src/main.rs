//! The buildgate binary: diagnostics, a runtime, the gate, and its exit code.

use std::process::ExitCode;

use buildgate::env::Env;

fn main() -> ExitCode {
    let env = Env::from_process();
    buildgate::init_tracing(&env);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("buildgate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let args = std::env::args_os().skip(1).collect();
    let exit = runtime.block_on(buildgate::run(&env, args, Box::new(std::io::stdout())));
    ExitCode::from(exit.code())
}
