// kiln.amp: mixed precision — the loss scaler (torch.amp.GradScaler). Autocast itself is kiln.autocast.
export { GradScaler, type GradScalerOptions, type GradScalerStateDict } from './grad-scaler.js';
