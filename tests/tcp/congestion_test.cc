#include "tcp/congestion.h"
