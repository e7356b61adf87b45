#include "config/config.h"
// Parser: to be written (owned by the configuration work).
