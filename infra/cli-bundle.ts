/**
 * The bundled `friday` CLI the pipeline's CodeBuild steps run: scripts/pipeline/bundle.ts produces
 * it, components/pipeline*.ts upload it. A type both sides import, so components need not import
 * from scripts/.
 */
export interface CliBundle {
  /** Absolute path of the bundled file. */
  readonly path: string;
  /** Hex SHA-256 of the file: the pipeline verifies the download against it. */
  readonly sha256: string;
  readonly bytes: number;
  /** Bare module names replaced by the stub (for the report and tests). */
  readonly stubbed: string[];
}
