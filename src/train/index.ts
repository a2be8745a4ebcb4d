// kiln.train: the trainer — typed config, schedules, the dataset interface, the contrastive loss over
// modality pairs, parameter groups, feature-cached accumulation, tower locks and stages, checkpoints with
// exact resume, and fit(), the loop itself.
export { fit, TrainingStopped, type FitOptions, type FitCallbacks, type FitSummary, type StepInfo, type EvalRow } from './loop.js';
export {
  resolveConfig,
  validateConfig,
  type ValidateOptions,
  applySets,
  parseConfigText,
  readConfigFile,
  mergeOver,
  ConfigError,
  DEFAULTS,
  type TrainConfig,
  type TrainConfigInput,
  type ModelSection,
  type DataSection,
  type RandomDataSection,
  type ImageCaptionDataSection,
  type SyntheticDataSection,
  type LoraSection,
  LORA_DEFAULTS,
  type PairSpec,
  type LossSection,
  type OptimizerSection,
  type ParamGroupSpec,
  type ScheduleSection,
  type LogitScaleOverride,
  type ModalityOverride,
  type TowerLock,
  type StageSpec,
} from './config.js';
export { accumulateForwardBackward, type AccumulateContext } from './accumulate.js';
export { lockGroups, lockedNames, layerNormParams, towerName } from './freeze.js';
export { StagePlan } from './stages.js';
export { makeSchedule, type LrAt } from './schedule.js';
export { type Dataset, type DataPosition, type InputSpec, type Sample, Loader, RandomDataset, collate, hash32, uniformStream, normalStream } from './dataset.js';
export { ContrastiveLoss, sigLipLoss, pairName, type LossOutput } from './loss.js';
export { paramGroups, excludedFromDecay, globToRegExp, type TrainGroup } from './params.js';
export { buildModel, type TrainModel } from './model.js';
export { listCheckpoints, readCheckpoint, truncateMetrics, CheckpointError, type CheckpointState, type LoadedCheckpoint } from './checkpoint.js';
export { type MetricsRow, WALL_CLOCK_FIELDS, Progress } from './metrics.js';
export { KILL_POINTS, type KillPoint } from './faults.js';
export { StepMonitor, type Tower } from './monitor.js';
export { exportPytorch, resumeFromOpenClip, openClipV33Order, type ExportPytorchOptions, type ExportPytorchResult } from './openclip.js';
export * as lora from './lora.js';
export { makeCaptionSet, type CaptionSetOptions } from './caption-set.js';
export { loadImageCaptions, parseCaptions, type ImageCaptionOptions, type CaptionRow } from './captions.js';
export { exportDir } from './lora-train.js';
export { loadForInference, type LoadForInferenceOptions, type LoadedModel, type InferenceModel } from './inference.js';
export {
  evaluate,
  loadTrainedModel,
  recallRow,
  formatEval,
  type EvaluateOptions,
  type EvalReport,
  type PairResult,
  type DirectionResult,
  type ZeroShotResult,
} from './evaluate.js';
export { retrievalMetrics, chanceRecall, classification, intraClass, diagonalContrast, median, type RetrievalMetrics } from './retrieval.js';
export { writeReport, renderReport, readRuns, readReportData, reportData, writeReportData, syntheticHeldOut, pca, REPORT_FILE, REPORT_DATA_FILE, type WriteReportOptions, type ReportData, type ReportInput, type RunRows, type Projection } from './report/index.js';
export { demo, formatDemo, DEMO_PAIRS, type DemoOptions, type DemoResult } from './demo.js';
