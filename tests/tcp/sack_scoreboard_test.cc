#include "tcp/sack_scoreboard.h"
