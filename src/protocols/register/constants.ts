/**
 * /fileshare/register/1.0.0: protocol id and wire bounds.
 */

export const PROTOCOL_REGISTER = '/fileshare/register/1.0.0'
/** Files (ADD/RESET) or paths (REMOVE) in one register request. */
export const REGISTER_BATCH = 1000
/** Largest register request: one batch of up to REGISTER_BATCH files. */
export const MAX_REGISTER_FRAME = 1024 * 1024
