#pragma once

namespace synwave::tcp {}  // written by the reassembly work
