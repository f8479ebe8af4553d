// The Pulumi program's entry (Pulumi.yaml `main`). Pulumi calls the exported function and turns
// what it returns into the stack's outputs.
import { program } from "./program";

export = program;
