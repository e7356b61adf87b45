#include "transfer_fixture.h"
