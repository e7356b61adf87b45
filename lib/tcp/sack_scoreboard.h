#pragma once

namespace synwave::tcp {}  // written by the sack_scoreboard work
