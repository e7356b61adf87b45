#include "tcp/reassembly.h"
