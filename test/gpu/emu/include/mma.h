// mma.h — the CPU emulation's stand-in (see ../cuda_emu.h).
#pragma once
#include "../cuda_emu.h"
