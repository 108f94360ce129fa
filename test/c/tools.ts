// Which C toolchains this machine has. Tests that need one skip locally when it is missing,
// but under CI (CI=true, where .ci/run installs them) a missing tool is an error, not a skip.
import { findTool, hostCompiler } from '../../src/mcu/toolchain.js';

function need(what: string, found: string | undefined): boolean {
  if (!found && process.env.CI === 'true') throw new Error(`CI=true but ${what} is not installed`);
  return !!found;
}

export const hasCC = () => need('a host C compiler (cc)', hostCompiler());
export const hasArm = () => need('arm-none-eabi-gcc', findTool('arm-none-eabi-gcc')) && need('arm-none-eabi-size', findTool('arm-none-eabi-size'));
export const hasQemu = () => hasArm() && need('qemu-system-arm', findTool('qemu-system-arm'));
